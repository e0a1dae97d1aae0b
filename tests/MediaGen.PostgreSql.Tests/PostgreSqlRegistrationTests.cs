namespace MediaGen.PostgreSql.Tests;

public sealed class PostgreSqlRegistrationTests : MediaGen.TestSupport.BackendRegistrationTests<PostgreSqlOptions>
{
    protected override string ProviderName => "PostgreSql";

    protected override string Section => "MediaGen:PostgreSql";

    protected override string ConnectionKey => "ConnectionString";

    protected override string ConnectionValue => "Host=db";

    protected override string MisspelledKey => "SchemaNmae";

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, Action<PostgreSqlOptions> configure) =>
        builder.UsePostgreSql(o =>
        {
            o.SchemaName = "app";
            configure(o);
        });

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, IConfigurationSection section) => builder.UsePostgreSql(section);

    protected override void SetConnection(PostgreSqlOptions options, string value) => options.ConnectionString = value;
}
