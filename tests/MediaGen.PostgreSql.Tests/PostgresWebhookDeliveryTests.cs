namespace MediaGen.PostgreSql.Tests;

/// <summary>Webhook deliveries kept in PostgreSQL survive the process that wrote them and are sent once by the others.</summary>
public sealed class PostgresWebhookDeliveryTests : IAsyncLifetime
{
    private readonly string _schema = PostgresTestServer.NewSchema();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(PostgresTestServer.Variable)))
        {
            await PostgresTestServer.DropSchemaAsync(_schema);
        }
    }

    [ServerFact(PostgresTestServer.Variable)]
    public Task Outbox_ProcessStoppedBeforeSending_NextProcessSendsIt() =>
        WebhookDeliveriesAcrossHosts.UnsentDeliveryIsSentAfterARestartAsync(UsePostgreSql);

    [ServerFact(PostgresTestServer.Variable)]
    public Task Outbox_DispatcherDiedHoldingALease_AnotherSendsItOnceTheLeaseExpires() =>
        WebhookDeliveriesAcrossHosts.ExpiredLeaseIsSentByAnotherDispatcherAsync(UsePostgreSql);

    [ServerFact(PostgresTestServer.Variable)]
    public Task Outbox_TwoDispatchers_EachDeliverySentOnce() =>
        WebhookDeliveriesAcrossHosts.TwoDispatchersSendEachDeliveryOnceAsync(UsePostgreSql);

    private void UsePostgreSql(IMediaGenerationBuilder builder) =>
        builder.UsePostgreSql(o => { o.ConnectionString = PostgresTestServer.ConnectionString; o.SchemaName = _schema; });
}
