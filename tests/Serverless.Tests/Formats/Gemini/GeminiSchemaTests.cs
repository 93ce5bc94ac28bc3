using System.Text.Json.Nodes;
using Serverless.Relay.Formats.Gemini;
using static Serverless.Tests.Formats.Gemini.GeminiTestJson;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

public sealed class GeminiSchemaTests
{
    private static string? ToGemini(string jsonSchema) =>
        GeminiSchema.ToGeminiParameters(JsonNode.Parse(jsonSchema)!.AsObject())?.ToJsonString();

    [Theory]
    [InlineData("{}")]
    [InlineData("{'type':'object'}")]
    [InlineData("{'type':'object','properties':{},'additionalProperties':false}")]
    public void ToGeminiParameters_NoArguments_ReturnsNull(string schema)
    {
        Assert.Null(ToGemini(Q(schema)));
    }

    [Theory]
    // Unsupported keywords are dropped.
    [InlineData(
        "{'$schema':'x','$id':'y','type':'object','additionalProperties':false,'strict':true,'properties':{'a':{'type':'string','minLength':1,'maxLength':5,'pattern':'^a','examples':['a'],'exclusiveMinimum':1}}}",
        "{'type':'OBJECT','properties':{'a':{'type':'STRING','minLength':1,'maxLength':5,'pattern':'^a'}}}")]
    // Nullable unions and anyOf with a null branch.
    [InlineData(
        "{'type':'object','properties':{'a':{'type':['string','null']},'b':{'anyOf':[{'type':'integer','minimum':0},{'type':'null'}],'description':'B'}}}",
        "{'type':'OBJECT','properties':{'a':{'type':'STRING','nullable':true},'b':{'type':'INTEGER','minimum':0,'description':'B','nullable':true}}}")]
    // Real unions stay anyOf; oneOf becomes anyOf.
    [InlineData(
        "{'type':'object','properties':{'v':{'oneOf':[{'type':'string'},{'type':'number'}]}}}",
        "{'type':'OBJECT','properties':{'v':{'anyOf':[{'type':'STRING'},{'type':'NUMBER'}]}}}")]
    // Local $refs are inlined, keeping the referring description.
    [InlineData(
        "{'type':'object','$defs':{'Point':{'type':'object','properties':{'x':{'type':'number'}},'required':['x']}},'properties':{'p':{'$ref':'#/$defs/Point','description':'Where'}}}",
        "{'type':'OBJECT','properties':{'p':{'type':'OBJECT','properties':{'x':{'type':'NUMBER'}},'required':['x'],'description':'Where'}}}")]
    [InlineData(
        "{'type':'object','properties':{'p':{'$ref':'#/definitions/Missing'},'q':{'$ref':'https://example.com/s.json'}}}",
        "{'type':'OBJECT','properties':{'p':{},'q':{}}}")]
    // Enums are on strings only; const is a one-value enum; formats Gemini rejects are dropped.
    [InlineData(
        "{'type':'object','properties':{'n':{'type':'integer','enum':[1,2,null],'format':'int32'},'k':{'type':'string','const':'fixed','format':'uri'},'d':{'type':'string','format':'date-time'}}}",
        "{'type':'OBJECT','properties':{'n':{'type':'INTEGER','format':'int32','description':'Allowed values: 1, 2.','nullable':true},'k':{'type':'STRING','enum':['fixed']},'d':{'type':'STRING','format':'date-time'}}}")]
    // Arrays keep items; tuple items take the first; properties on non-objects go.
    [InlineData(
        "{'type':'object','properties':{'tags':{'type':'array','items':{'type':'string'},'minItems':1},'pair':{'type':'array','items':[{'type':'number'},{'type':'string'}]},'s':{'type':'string','properties':{'x':{}},'required':['x']}}}",
        "{'type':'OBJECT','properties':{'tags':{'type':'ARRAY','minItems':1,'items':{'type':'STRING'}},'pair':{'type':'ARRAY','items':{'type':'NUMBER'}},'s':{'type':'STRING'}}}")]
    // Missing types are inferred from properties/items.
    [InlineData(
        "{'properties':{'list':{'items':{'type':'boolean'}}}}",
        "{'type':'OBJECT','properties':{'list':{'type':'ARRAY','items':{'type':'BOOLEAN'}}}}")]
    public void ToGeminiParameters_JsonSchema_ConvertsToGeminiSubset(string schema, string expected)
    {
        Assert.Equal(Q(expected), ToGemini(Q(schema)));
    }

    [Theory]
    [InlineData("{'enum':['a','b']}", "{'type':'STRING','enum':['a','b']}")]
    [InlineData("{'const':'fixed','description':'Mode'}", "{'description':'Mode','type':'STRING','enum':['fixed']}")]
    [InlineData("{'type':'integer','enum':[1,2]}", "{'type':'INTEGER','description':'Allowed values: 1, 2.'}")]
    [InlineData("{'enum':[1,2]}", "{'type':'INTEGER','description':'Allowed values: 1, 2.'}")]
    [InlineData("{'enum':[1,0.5],'description':'Scale'}", "{'description':'Scale Allowed values: 1, 0.5.','type':'NUMBER'}")]
    [InlineData("{'const':true}", "{'type':'BOOLEAN','description':'Allowed values: true.'}")]
    [InlineData("{'enum':[1,true]}", "{'description':'Allowed values: 1, true.'}")]
    [InlineData("{'type':'string','enum':[1,2]}", "{'type':'STRING','description':'Allowed values: 1, 2.'}")]
    public void ToGeminiParameters_Enum_OnStringsOnlyOthersInTheDescription(string property, string expected)
    {
        // Gemini refuses enum on any type but STRING ("enum: only allowed for STRING type").
        Assert.Equal(
            Q("{'type':'OBJECT','properties':{'p':" + expected + "}}"),
            ToGemini(Q("{'type':'object','properties':{'p':" + property + "}}")));
    }

    [Fact]
    public void ToGeminiParameters_RecursiveRef_Terminates()
    {
        var result = ToGemini(Q("{'type':'object','$defs':{'Node':{'type':'object','properties':{'next':{'$ref':'#/$defs/Node'}}}},'properties':{'root':{'$ref':'#/$defs/Node'}}}"));

        Assert.NotNull(result);
        Assert.StartsWith(Q("{'type':'OBJECT','properties':{'root':{'type':'OBJECT','properties':{'next':{'type':'OBJECT'"), result, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJsonSchema_GeminiSchema_ConvertsTypesAndInt64Strings()
    {
        var schema = GeminiSchema.ToJsonSchema(Parse(Q(
            "{'type':'OBJECT','propertyOrdering':['a','b'],'properties':{'a':{'type':'ARRAY','min_items':'1','maxItems':'3','items':{'type':'NUMBER','format':'float'}},'b':{'anyOf':[{'type':'STRING'},{'type':'INTEGER'}]}},'required':['a']}")));

        Assert.Equal(
            Q("{'type':'object','properties':{'a':{'type':'array','minItems':1,'maxItems':3,'items':{'type':'number','format':'float'}},'b':{'anyOf':[{'type':'string'},{'type':'integer'}]}},'required':['a']}"),
            schema.ToJsonString());
    }
}
