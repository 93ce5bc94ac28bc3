using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Relaying;

internal enum ModelListShape
{
    OpenAI,
    Anthropic,
    Gemini,
}

/// <summary>Answers model lists and single-model lookups in the shape each SDK expects.</summary>
internal sealed class ModelsResponder(ClientAuthenticator authenticator, ModelCatalog catalog)
{
    public async Task RespondAsync(HttpContext context, ModelListShape shape, string? modelId)
    {
        var format = FormatOf(shape);
        var (key, authError) = await authenticator.AuthenticateAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
        if (key is null)
        {
            await RelayResults.WriteErrorAsync(context, format, authError!).ConfigureAwait(false);
            return;
        }

        var models = await catalog.ListAsync(key, context.RequestAborted).ConfigureAwait(false);
        if (modelId is null)
        {
            await RelayResults.WriteJsonAsync(context, StatusCodes.Status200OK, writer => WriteList(writer, shape, models)).ConfigureAwait(false);
            return;
        }

        var id = shape == ModelListShape.Gemini && modelId.StartsWith("models/", StringComparison.Ordinal) ? modelId["models/".Length..] : modelId;
        var model = models.FirstOrDefault(m => string.Equals(m.Id, id, StringComparison.Ordinal));
        if (model is null)
        {
            await RelayResults.WriteErrorAsync(context, format, new RelayError(ErrorKind.NotFound, $"The model '{id}' does not exist or is not available to this key.", "model")).ConfigureAwait(false);
            return;
        }

        await RelayResults.WriteJsonAsync(context, StatusCodes.Status200OK, writer => WriteModel(writer, shape, model)).ConfigureAwait(false);
    }

    private static IChatFormat FormatOf(ModelListShape shape) => shape switch
    {
        ModelListShape.Anthropic => ClientApis.Messages.Format,
        ModelListShape.Gemini => ClientApis.Gemini.Format,
        _ => ClientApis.ChatCompletions.Format,
    };

    private static void WriteList(Utf8JsonWriter writer, ModelListShape shape, IReadOnlyList<ListedModel> models)
    {
        writer.WriteStartObject();
        switch (shape)
        {
            case ModelListShape.OpenAI:
                writer.WriteString("object", "list");
                writer.WriteStartArray("data");
                break;
            case ModelListShape.Anthropic:
                writer.WriteStartArray("data");
                break;
            default:
                writer.WriteStartArray("models");
                break;
        }

        foreach (var model in models)
        {
            WriteModel(writer, shape, model);
        }

        writer.WriteEndArray();
        if (shape == ModelListShape.Anthropic)
        {
            writer.WriteBoolean("has_more", false);
            JsonFields.WriteStringOrNull(writer, "first_id", models.Count > 0 ? models[0].Id : null);
            JsonFields.WriteStringOrNull(writer, "last_id", models.Count > 0 ? models[^1].Id : null);
        }

        writer.WriteEndObject();
    }

    private static void WriteModel(Utf8JsonWriter writer, ModelListShape shape, ListedModel model)
    {
        writer.WriteStartObject();
        switch (shape)
        {
            case ModelListShape.OpenAI:
                writer.WriteString("id", model.Id);
                writer.WriteString("object", "model");
                writer.WriteNumber("created", model.Created.ToUnixTimeSeconds());
                writer.WriteString("owned_by", model.OwnedBy);
                break;
            case ModelListShape.Anthropic:
                writer.WriteString("type", "model");
                writer.WriteString("id", model.Id);
                writer.WriteString("display_name", model.Id);
                writer.WriteString("created_at", model.Created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteString("name", "models/" + model.Id);
                writer.WriteString("displayName", model.Id);
                writer.WriteStartArray("supportedGenerationMethods");
                writer.WriteStringValue("generateContent");
                writer.WriteStringValue("streamGenerateContent");
                writer.WriteStringValue("countTokens");
                writer.WriteEndArray();
                break;
        }

        writer.WriteEndObject();
    }
}
