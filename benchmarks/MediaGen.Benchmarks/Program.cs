using BenchmarkDotNet.Running;
using MediaGen.Benchmarks;
using MediaGen.Benchmarks.Micro;

var mode = args.Length > 0 ? args[0] : string.Empty;
var rest = new Arguments(args.Length > 1 ? args[1..] : []);
switch (mode)
{
    case "throughput":
        return await ThroughputMode.RunAsync(rest).ConfigureAwait(false);
    case "latency":
        return await LatencyMode.RunAsync(rest).ConfigureAwait(false);
    case "io":
        return await IoMode.RunAsync(rest).ConfigureAwait(false);
    case "breakdown":
        return await BreakdownMode.RunAsync(rest).ConfigureAwait(false);
    case "bdn":
        var summaries = BenchmarkSwitcher.FromTypes([typeof(PipelineBenchmarks), typeof(ComponentBenchmarks), typeof(DiagnosticBenchmarks)]).Run(args[1..]);
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    default:
        Console.Error.WriteLine("""
            usage: dotnet run -c Release --project benchmarks/MediaGen.Benchmarks -- <mode> [options]
              throughput  [--jobs 100000] [--warmup 10000] [--concurrency 1,16,256] [--submitters N] [--no-peer] [--retention-ms N]
              latency     [--rate 1000] [--seconds 10] [--concurrency 16] [--warmup 2000] [--no-peer]
              io          [--jobs 50000] [--concurrency 10000] [--delay-ms 2000] [--warmup <concurrency>] [--submitters N] [--types]
              breakdown   [--jobs 100000] [--concurrency 16] [--types] [--retention-ms N]   (submit and process measured apart; --types samples allocations by type)
              bdn         [BenchmarkDotNet arguments, e.g. --filter *]
            """);
        return 2;
}
