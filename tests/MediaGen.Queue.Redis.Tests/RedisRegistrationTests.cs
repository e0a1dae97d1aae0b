namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisRegistrationTests : MediaGen.TestSupport.BackendRegistrationTests<RedisQueueOptions>
{
    protected override string ProviderName => "Redis";

    protected override string Section => "MediaGen:Redis";

    protected override string ConnectionKey => "Configuration";

    protected override string ConnectionValue => "localhost";

    protected override string MisspelledKey => "LeaseDurationn";

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, Action<RedisQueueOptions> configure) =>
        builder.UseRedisQueue(o =>
        {
            o.KeyPrefix = "app";
            configure(o);
        });

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, IConfigurationSection section) => builder.UseRedisQueue(section);

    protected override void SetConnection(RedisQueueOptions options, string value) => options.Configuration = value;
}
