using System.Globalization;
using MediaGen.Queue.ServiceBus.Endpoint;

// Runs the test endpoint on its own, for the test script and the sample hosts:
//   dotnet run --project tests/MediaGen.Queue.ServiceBus.Endpoint -- --port 5672 --queue jobs [--queue other=00:00:05]
//     [--key-name NAME] [--key KEY] [--lock-duration 00:00:30] [--max-delivery-count 10]
// A queue named NAME=DURATION gets that lock duration instead of --lock-duration.
// Prints the connection string on its first line, then runs until stdin closes or it is stopped (SIGTERM, Ctrl+C).
var port = 0;
var keyName = "RootManageSharedAccessKey";
string? key = null;
var lockDuration = TimeSpan.FromSeconds(30);
var maxDeliveryCount = 10;
var queues = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--port": port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--queue": queues.Add(Next()); break;
        case "--key-name": keyName = Next(); break;
        case "--key": key = Next(); break;
        case "--lock-duration": lockDuration = TimeSpan.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--max-delivery-count": maxDeliveryCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"Unknown argument '{args[i]}'."); return 2;
    }
}

if (queues.Count == 0)
{
    queues.Add("jobs");
}

await using var endpoint = new SpecAmqpEndpoint(TimeProvider.System, keyName, key, port);
foreach (var queue in queues)
{
    var parts = queue.Split('=', 2);
    endpoint.CreateQueue(parts[0], parts.Length == 2 ? TimeSpan.Parse(parts[1], CultureInfo.InvariantCulture) : lockDuration, maxDeliveryCount);
}

Console.WriteLine(endpoint.ConnectionString);
Console.Out.Flush();
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

return 0;
