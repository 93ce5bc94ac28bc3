using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Webhooks.Conversations;

/// <summary>How much of a chat goes back to the model. Bound from the <c>Conversation</c> section (<c>Conversation__MaxTurns</c>, <c>Conversation__MaxTokens</c>).</summary>
internal sealed class ConversationOptions
{
    public const string Section = "Conversation";

    /// <summary>The most earlier turns (a user message and its answer) sent with a new message.</summary>
    [Range(0, 200)]
    public int MaxTurns { get; set; } = 20;

    /// <summary>The most tokens (estimated) those turns may add to a request; older turns are left out first.</summary>
    [Range(0, 1_000_000)]
    public int MaxTokens { get; set; } = 8000;
}

/// <summary>Checks <see cref="ConversationOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class ConversationOptionsValidator : IValidateOptions<ConversationOptions>;
