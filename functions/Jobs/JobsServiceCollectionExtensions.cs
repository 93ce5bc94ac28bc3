using Microsoft.Extensions.DependencyInjection;
using Serverless.Jobs.PurgePending;
using Serverless.Jobs.RefreshTokens;
using Serverless.Jobs.Retention;
using Serverless.Relay.Functions;
using Serverless.Relay.Validation;

namespace Serverless.Jobs;

public static class JobsServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="ITimerFunction"/> per timer function of the Jobs area, and the retention settings
    /// (<c>Retention__UsageDays</c>, <c>Retention__ConversationDays</c>, <c>Retention__MaxRunTime</c>) checked at start-up.
    /// PurgePending needs an <c>IMessageSender</c> (the IM queues) and the channel stores (<c>AddChannels</c>).
    /// </summary>
    public static IServiceCollection AddJobs(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateWith<RetentionOptions, RetentionOptionsValidator>().ValidateOnStart();
        services.AddSingleton<ITimerFunction, RefreshTokensFunction>();
        services.AddSingleton<ITimerFunction, PurgePendingFunction>();
        services.AddSingleton<ITimerFunction, RetentionFunction>();
        return services;
    }
}
