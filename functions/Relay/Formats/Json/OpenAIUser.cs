using System.Security.Cryptography;
using System.Text;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// The end-user id OpenAI takes in <c>user</c> (Chat Completions and Responses): at most 64 characters, a longer one
/// refused with 400 (<c>Invalid 'user': string too long. Expected a string with maximum length 64</c>).
/// </summary>
/// <remarks>
/// NOTE: Claude Code sends a JSON object of its device, account and session ids as <c>metadata.user_id</c>, about 150
/// characters, so every Claude Code request translated for OpenAI was refused. A longer id goes as its SHA-256 in hex:
/// exactly 64 characters, the same for the same id, so OpenAI's abuse monitoring still tells users apart.
/// </remarks>
internal static class OpenAIUser
{
    public const int MaxLength = 64;

    public static string? Of(string? user) =>
        user is null || user.Length <= MaxLength
            ? user
            : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)));
}
