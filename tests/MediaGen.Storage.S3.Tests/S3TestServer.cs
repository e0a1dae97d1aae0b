using System.Diagnostics;
using Amazon.Runtime;

namespace MediaGen.Storage.S3.Tests;

/// <summary>The radosgw eng/servers/s3.sh starts: its address and keys, an admin client, and MediaGen storages on it.</summary>
internal static class S3TestServer
{
    public const string EndpointVariable = "MEDIAGEN_S3_ENDPOINT";

    public static string Endpoint => ServerEnvironment.Require(EndpointVariable);

    public static string AccessKey => ServerEnvironment.Require("MEDIAGEN_S3_ACCESS_KEY");

    public static string SecretKey => ServerEnvironment.Require("MEDIAGEN_S3_SECRET_KEY");

    public static string NewBucketName() => "mediagen-" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>Options for the test server; the bucket is created on first use.</summary>
    public static void Configure(S3StorageOptions o, string bucket, string prefix = "")
    {
        o.ServiceUrl = new Uri(Endpoint);
        o.AccessKey = AccessKey;
        o.SecretKey = SecretKey;
        o.ForcePathStyle = true;
        o.RequestChecksumCalculation = S3ChecksumCalculation.WhenRequired;
        o.BucketName = bucket;
        o.Prefix = prefix;
        o.CreateBucketIfMissing = true;
    }

    /// <summary>A service provider with MediaGen on S3 storage; dispose it to dispose the storage.</summary>
    public static ServiceProvider BuildProvider(Action<IMediaGenerationBuilder> use)
    {
        var services = new ServiceCollection();
        use(services.AddMediaGeneration());
        return services.BuildServiceProvider();
    }

    public static AmazonS3Client CreateAdminClient(int maxErrorRetry = 2) => new(
        new BasicAWSCredentials(AccessKey, SecretKey),
        new AmazonS3Config
        {
            ServiceURL = Endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = maxErrorRetry,
        });

    /// <summary>Deletes every object in the bucket, then the bucket.</summary>
    public static async Task DeleteBucketAsync(IAmazonS3 client, string bucket)
    {
        try
        {
            ListObjectsV2Response page;
            do
            {
                page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
                foreach (var o in page.S3Objects ?? [])
                {
                    await client.DeleteObjectAsync(bucket, o.Key);
                }
            }
            while (page.IsTruncated == true);

            await client.DeleteBucketAsync(bucket);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket")
        {
        }
    }

    /// <summary>Runs Debian's awscli against the server; returns its standard output.</summary>
    public static async Task<byte[]> RunAwsCliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(ServerEnvironment.Require("MEDIAGEN_AWS_CLI"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("--endpoint-url");
        start.ArgumentList.Add(Endpoint);
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["AWS_ACCESS_KEY_ID"] = AccessKey;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = SecretKey;
        start.Environment["AWS_DEFAULT_REGION"] = "us-east-1";
        start.Environment["AWS_REQUEST_CHECKSUM_CALCULATION"] = "when_required";
        start.Environment["AWS_CONFIG_FILE"] = "/dev/null";
        start.Environment["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null";
        start.Environment["AWS_PAGER"] = string.Empty;
        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        await copy;
        Assert.True(process.ExitCode == 0, $"aws {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        return output.ToArray();
    }

    public static IConfigurationSection Section(IEnumerable<KeyValuePair<string, string?>> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("MediaGen:S3");
}
