namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryWebhookOutboxTests : WebhookOutboxComplianceTests
{
    protected override ValueTask<IWebhookOutbox> CreateOutboxAsync() =>
        ValueTask.FromResult<IWebhookOutbox>(new InMemoryWebhookOutbox(Options.Create(new WebhookOptions()), Time));
}
