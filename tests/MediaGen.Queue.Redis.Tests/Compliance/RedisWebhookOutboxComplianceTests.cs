using MediaGen.Queue.Redis.Internal;
using MediaGen.Testing;

namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisWebhookOutboxComplianceTests : WebhookOutboxComplianceTests
{
    private RedisComplianceConnections? _connections;

    protected override ValueTask<IWebhookOutbox> CreateOutboxAsync()
    {
        _connections ??= Track(new RedisComplianceConnections());
        return CreateClientAsync();
    }

    protected override ValueTask<IWebhookOutbox> CreatePeerOutboxAsync(IWebhookOutbox outbox) => CreateClientAsync();

    private async ValueTask<IWebhookOutbox> CreateClientAsync() =>
        new RedisWebhookOutbox(await _connections!.ConnectAsync(), RedisTestServer.Options(_connections.Prefix), Time);
}
