using System.Text.RegularExpressions;
using System.Xml.Linq;
using YamlDotNet.RepresentationModel;

namespace MediaGen.Samples.Api.Tests;

/// <summary>
/// What can be checked of the container files without a container engine: the Dockerfiles name projects, files and
/// entry points that exist, run as a non-root user with a health check that matches the host, on a runtime image the
/// sample can run on; the compose file parses, references them, and configures the samples with keys and values their
/// own start-up check accepts.
/// </summary>
public sealed partial class ContainerFilesTests
{
    private static readonly string Root = FindRepositoryRoot();

    public static TheoryData<string, string> Samples => new()
    {
        { "samples/MediaGen.Samples.Api/Dockerfile", "aspnet" },
        { "samples/MediaGen.Samples.Worker/Dockerfile", "runtime" },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Dockerfile_BuildsAnExistingProjectAndRunsItsAssembly(string dockerfile, string runtimeImage)
    {
        var instructions = ReadDockerfile(dockerfile);

        var stages = instructions.Where(i => i.Keyword == "FROM").Select(i => i.Arguments).ToList();
        Assert.Equal(2, stages.Count);
        var sdkMajor = ReadSdkMajor();
        Assert.Equal($"mcr.microsoft.com/dotnet/sdk:{sdkMajor}.0 AS build", stages[0]);
        Assert.StartsWith($"mcr.microsoft.com/dotnet/{runtimeImage}:{sdkMajor}.0 ", stages[1], StringComparison.Ordinal);

        foreach (var copy in instructions.Where(i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal)))
        {
            var sources = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1];
            Assert.All(sources, source => Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"{dockerfile} copies {source}, which does not exist."));
        }

        var publish = PublishCommand().Match(Assert.Single(instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments);
        Assert.True(publish.Success, $"{dockerfile} publishes no project.");
        var project = publish.Groups["project"].Value;
        Assert.True(File.Exists(Path.Combine(Root, project)), $"{dockerfile} publishes {project}, which does not exist.");
        Assert.Equal(Path.GetDirectoryName(dockerfile), Path.GetDirectoryName(project));
        Assert.Null(XDocument.Load(Path.Combine(Root, project)).Descendants("AssemblyName").FirstOrDefault());

        var entryPoint = Assert.Single(instructions, i => i.Keyword == "ENTRYPOINT").Arguments;
        Assert.Equal($"[\"dotnet\", \"{Path.GetFileNameWithoutExtension(project)}.dll\"]", entryPoint);

        var user = instructions.Last(i => i.Keyword == "USER").Arguments;
        Assert.DoesNotContain(user, new[] { "root", "0", "0:0" });
        Assert.True(instructions.FindLastIndex(i => i.Keyword == "USER") > instructions.FindLastIndex(i => i.Keyword == "FROM"), "The final stage does not switch to a non-root user.");
        Assert.Contains(" CMD ", " " + Assert.Single(instructions, i => i.Keyword == "HEALTHCHECK").Arguments, StringComparison.Ordinal);
    }

    [Fact]
    public void WorkerDockerfile_RuntimeImage_SufficesForEveryProjectTheWorkerReferences()
    {
        // The runtime image has no ASP.NET Core: neither the worker nor anything it references may need it.
        var projects = ProjectClosure("samples/MediaGen.Samples.Worker/MediaGen.Samples.Worker.csproj");

        Assert.Contains(projects, p => p.EndsWith("MediaGen.Samples.Hosting.csproj", StringComparison.Ordinal));
        foreach (var project in projects)
        {
            var document = XDocument.Load(project);
            Assert.NotEqual("Microsoft.NET.Sdk.Web", document.Root!.Attribute("Sdk")?.Value);
            Assert.DoesNotContain(document.Descendants("FrameworkReference"), r => r.Attribute("Include")?.Value == "Microsoft.AspNetCore.App");
        }
    }

    [Fact]
    public void ApiDockerfile_HealthCheck_ProbesTheHealthEndpointOnTheServedPort()
    {
        var instructions = ReadDockerfile("samples/MediaGen.Samples.Api/Dockerfile");

        var port = Assert.Single(instructions, i => i.Keyword == "EXPOSE").Arguments;
        Assert.Contains($"ASPNETCORE_HTTP_PORTS={port}", Assert.Single(instructions, i => i.Keyword == "ENV").Arguments, StringComparison.Ordinal);
        Assert.Contains($"http://localhost:{port}/health", Assert.Single(instructions, i => i.Keyword == "HEALTHCHECK").Arguments, StringComparison.Ordinal);
        Assert.Contains("app.MapHealthChecks(\"/health\")", File.ReadAllText(Path.Combine(Root, "samples/MediaGen.Samples.Api/Program.cs")), StringComparison.Ordinal);
    }

    [Fact]
    public void WorkerDockerfile_HealthCheck_TestsTheFileTheWorkerPublishes()
    {
        var instructions = ReadDockerfile("samples/MediaGen.Samples.Worker/Dockerfile");

        var check = Assert.Single(instructions, i => i.Keyword == "HEALTHCHECK").Arguments;
        var file = Assert.Single(HealthFileInCheck().Matches(check)).Groups["file"].Value;
        Assert.Equal("/tmp/", file[..5]);
        Assert.Contains($"\"{file[5..]}\"", File.ReadAllText(Path.Combine(Root, "samples/MediaGen.Samples.Worker/HealthFilePublisher.cs")), StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_Parses_AndBuildsTheApiAndTwoWorkersFromTheDockerfiles()
    {
        var services = ComposeServices();

        Assert.Equal(["api", "minio", "redis", "worker"], services.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Order(StringComparer.Ordinal));
        Assert.Equal("samples/MediaGen.Samples.Api/Dockerfile", Scalar(services, "api", "build", "dockerfile"));
        Assert.Equal("samples/MediaGen.Samples.Worker/Dockerfile", Scalar(services, "worker", "build", "dockerfile"));
        Assert.Equal(".", Scalar(services, "api", "build", "context"));
        Assert.Equal(".", Scalar(services, "worker", "build", "context"));
        Assert.Equal("2", Scalar(services, "worker", "deploy", "replicas"));
        Assert.StartsWith("8080:", ((YamlScalarNode)((YamlSequenceNode)Node(services, "api", "ports")).Children[0]).Value, StringComparison.Ordinal);
        foreach (var name in new[] { "api", "worker" })
        {
            var dependsOn = (YamlMappingNode)Node(services, name, "depends_on");
            Assert.All(dependsOn.Children.Keys, k => Assert.Contains(k, services.Children.Keys));
        }
    }

    [Theory]
    [InlineData("api", "samples/MediaGen.Samples.Api/Dockerfile")]
    [InlineData("worker", "samples/MediaGen.Samples.Worker/Dockerfile")]
    public void Compose_Environment_PassesTheSamplesConfigurationCheck(string service, string dockerfile)
    {
        // The image's ENV and the service's environment, as the host would read them (environment variables: __ is :).
        var settings = ReadDockerfile(dockerfile).Where(i => i.Keyword == "ENV")
            .SelectMany(i => EnvAssignment().Matches(i.Arguments).Select(m => (m.Groups["key"].Value, m.Groups["value"].Value)))
            .Concat(((YamlMappingNode)Node(ComposeServices(), service, "environment")).Children.Select(p => (((YamlScalarNode)p.Key).Value!, ((YamlScalarNode)p.Value).Value!)))
            .ToDictionary(p => p.Item1.Replace("__", ":", StringComparison.Ordinal), p => (string?)p.Item2, StringComparer.OrdinalIgnoreCase);
        Assert.Contains(settings.Keys, k => k.StartsWith("MediaGen:", StringComparison.Ordinal));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        // Throws MediaGenConfigurationException naming any unknown key or invalid value.
        var setup = new ServiceCollection().AddMediaGenerationFromConfiguration(configuration);
        var apiOptions = SampleApiOptions.Read(configuration);

        Assert.Equal("Redis", setup.QueueProvider);
        Assert.Equal("S3", setup.StorageProvider);
        Assert.False(setup.IsQueueInProcess);
        Assert.Equal(service == "api" ? false : null, setup.WorkerEnabled);
        Assert.Empty(apiOptions.ApiKeys);
    }

    private static List<(string Keyword, string Arguments)> ReadDockerfile(string path)
    {
        var instructions = new List<(string, string)>();
        var current = string.Empty;
        foreach (var raw in File.ReadAllLines(Path.Combine(Root, path)))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            current += line.EndsWith('\\') ? line[..^1].TrimEnd() + " " : line;
            if (!line.EndsWith('\\'))
            {
                var space = current.IndexOf(' ', StringComparison.Ordinal);
                instructions.Add((current[..space], current[(space + 1)..].Trim()));
                current = string.Empty;
            }
        }

        return instructions;
    }

    private static string ReadSdkMajor()
    {
        var globalJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "global.json")));
        return globalJson.RootElement.GetProperty("sdk").GetProperty("version").GetString()!.Split('.')[0];
    }

    private static List<string> ProjectClosure(string project)
    {
        var seen = new List<string>();
        var pending = new Stack<string>([Path.GetFullPath(Path.Combine(Root, project))]);
        while (pending.TryPop(out var next))
        {
            if (seen.Contains(next))
            {
                continue;
            }

            seen.Add(next);
            foreach (var reference in XDocument.Load(next).Descendants("ProjectReference"))
            {
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(next)!, reference.Attribute("Include")!.Value)));
            }
        }

        return seen;
    }

    private static YamlMappingNode ComposeServices()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Root, "compose.yaml")))
        {
            yaml.Load(reader);
        }

        var document = (YamlMappingNode)Assert.Single(yaml.Documents).RootNode;
        return (YamlMappingNode)document.Children[new YamlScalarNode("services")];
    }

    private static YamlNode Node(YamlMappingNode mapping, params string[] path) =>
        path.Aggregate<string, YamlNode>(mapping, (node, key) => ((YamlMappingNode)node).Children[new YamlScalarNode(key)]);

    private static string? Scalar(YamlMappingNode mapping, params string[] path) => ((YamlScalarNode)Node(mapping, path)).Value;

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MediaGen.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No MediaGen.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"dotnet publish (?<project>\S+\.csproj)")]
    private static partial Regex PublishCommand();

    [GeneratedRegex(@"find (?<file>/tmp/\S+) ")]
    private static partial Regex HealthFileInCheck();

    [GeneratedRegex(@"(?<key>[A-Za-z_][A-Za-z0-9_]*)=(?<value>\S+)")]
    private static partial Regex EnvAssignment();
}
