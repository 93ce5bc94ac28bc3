namespace Serverless.Relay.Accounts;

/// <summary>
/// Model-name globs for keys and accounts: <c>*</c> matches any run of characters (none included), everything else
/// matches itself, ignoring case. <c>gpt-4o*</c> matches <c>gpt-4o</c> and <c>GPT-4o-mini</c>; <c>*</c> matches all.
/// </summary>
internal static class ModelPattern
{
    public static bool IsMatch(string pattern, string model)
    {
        // Greedy matching with one backtrack point (the last '*'): linear in practice, no allocation, no regex.
        int p = 0, m = 0, star = -1, resume = 0;
        while (m < model.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = m;
            }
            else if (p < pattern.Length && char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(model[m]))
            {
                p++;
                m++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                m = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
