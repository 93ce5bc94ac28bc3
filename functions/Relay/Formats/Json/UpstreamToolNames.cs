using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// The rule an upstream holds tool (function) names to, and a name outside it as that upstream takes it. OpenAI, in both
/// of its APIs, refuses a name outside <c>^[a-zA-Z0-9_-]{1,64}$</c>; Gemini one that does not start with a letter or an
/// underscore, holds other characters than letters, digits, <c>_ . : -</c>, or is longer than 64. Claude Code names an
/// MCP server's tools <c>mcp__{server}__{tool}</c>, which often passes 64, and Anthropic takes that, so a translated
/// request would be refused whole for one tool.
/// </summary>
/// <remarks>
/// A name outside the rule goes as its first 55 characters, each one the rule refuses as <c>_</c>, then <c>_</c> and the
/// first 8 hex digits of the SHA-256 of the whole name: 64 at most, the same wherever the request names the tool (its
/// definition, <c>tool_choice</c>, earlier calls and their results), and two long names that share their start still
/// differ. It is the form LiteLLM sends (<c>truncate_tool_name</c>). The answer's calls come back to the client under the
/// declared name through <see cref="ToolNameMap"/>.
/// </remarks>
internal sealed class UpstreamToolNames
{
    public const int MaxLength = 64;

    private const int HashChars = 8;
    private const int PrefixChars = MaxLength - 1 - HashChars;
    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /// <summary>OpenAI Chat Completions and Responses (and the upstreams that copy their function tools).</summary>
    public static readonly UpstreamToolNames OpenAI = new(SearchValues.Create(Letters + "0123456789_-"), first: null);

    /// <summary>Gemini's <c>FunctionDeclaration.name</c>.</summary>
    /// <remarks>https://ai.google.dev/api/caching#FunctionDeclaration</remarks>
    public static readonly UpstreamToolNames Gemini = new(SearchValues.Create(Letters + "0123456789_.:-"), SearchValues.Create(Letters + "_"));

    private readonly SearchValues<char> _chars;
    private readonly SearchValues<char>? _first;

    private UpstreamToolNames(SearchValues<char> chars, SearchValues<char>? first)
    {
        _chars = chars;
        _first = first;
    }

    public bool Takes(string name) =>
        name.Length is > 0 and <= MaxLength
        && !name.AsSpan().ContainsAnyExcept(_chars)
        && (_first is null || _first.Contains(name[0]));

    /// <summary>The name as this upstream takes it: the name itself (the same string, nothing allocated) when it can.</summary>
    public string Of(string name)
    {
        if (Takes(name))
        {
            return name;
        }

        var prefix = Math.Min(name.Length, PrefixChars);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(name), hash);
        Span<char> chars = stackalloc char[prefix + 1 + HashChars];
        for (var i = 0; i < prefix; i++)
        {
            chars[i] = _chars.Contains(name[i]) && (i > 0 || _first is null || _first.Contains(name[i])) ? name[i] : '_';
        }

        chars[prefix] = '_';
        Convert.TryToHexStringLower(hash[..(HashChars / 2)], chars[(prefix + 1)..], out _);
        return new string(chars);
    }

    /// <summary>
    /// The declared names of <paramref name="tools"/> by the names this upstream got instead, or null, and nothing
    /// allocated, when every name went as it is.
    /// </summary>
    public ToolNameMap? MapOf(IReadOnlyList<ToolDefinition> tools)
    {
        Dictionary<string, string>? declared = null;
        foreach (var tool in tools)
        {
            if (!Takes(tool.Name))
            {
                declared ??= new Dictionary<string, string>(StringComparer.Ordinal);
                declared[Of(tool.Name)] = tool.Name;
            }
        }

        return declared is null ? null : new ToolNameMap(declared);
    }
}
