namespace Serverless.Relay.Canonical;

/// <summary>
/// What the relay must know of a request before it picks an upstream: the model, the stream flags and the end user.
/// Every format reads it without building the <see cref="ChatRequest"/>, so a same-format relay, which forwards the
/// client's bytes, builds that only when something else needs it (issue 11: read only what it needs).
/// </summary>
/// <param name="StreamUsage">As <see cref="ChatRequest.StreamUsage"/>.</param>
/// <param name="User">As <see cref="ChatRequest.User"/>.</param>
/// <param name="PreviousResponseId">
/// A response stored by the upstream that this request continues (OpenAI Responses' <c>previous_response_id</c>). The
/// relay stores none, so only an upstream spoken to in the client's own format can rebuild that conversation.
/// </param>
/// <param name="StoresResponse">
/// The upstream keeps the answer for a later request to continue (OpenAI Responses' <c>store</c>, true unless the client
/// says false); the relay then remembers which account made it.
/// </param>
/// <param name="ConversationId">
/// A conversation stored by the upstream that this request continues (OpenAI Responses' <c>conversation</c>): as for
/// <see cref="PreviousResponseId"/>, only an upstream spoken to in the client's own format has it.
/// </param>
/// <param name="PromptId">
/// A prompt template stored by the upstream that this request fills in (OpenAI Responses' <c>prompt</c>): only an
/// upstream spoken to in the client's own format has it.
/// </param>
internal sealed record RequestHead(
    string Model, bool Stream, bool StreamUsage = false, string? User = null, string? PreviousResponseId = null, bool StoresResponse = false, string? ConversationId = null, string? PromptId = null)
{
    /// <summary>
    /// The longest model name a client may give. Real ones are far shorter (an ARN or a Vertex resource name is about
    /// 100); the name is kept per process (the scheduler's rotation), in every usage row and in the hourly totals' row
    /// key, which storage caps at 1 KiB, so an unbounded one would cost memory and lose rows.
    /// </summary>
    public const int MaxModelLength = 256;

    /// <summary>The refusal of a model name longer than <see cref="MaxModelLength"/>; null for one that fits.</summary>
    public static RelayError? CheckModelLength(string model) =>
        model.Length > MaxModelLength ? RelayError.Invalid($"model: must be at most {MaxModelLength} characters", "model") : null;

    /// <summary>The head of a request built in code.</summary>
    public static RequestHead Of(ChatRequest chat) => new(chat.Model, chat.Stream, chat.StreamUsage, chat.User);

    /// <summary>
    /// A canonical request that carries the head alone, no messages: enough for what only describes the request (the
    /// echo of an error event that ends a relayed stream), never for a translation.
    /// </summary>
    public ChatRequest ToBareChat() => new() { Model = Model, Messages = [], Stream = Stream, StreamUsage = StreamUsage, User = User };
}
