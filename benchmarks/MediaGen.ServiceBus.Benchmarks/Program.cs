using System.Diagnostics;
using System.Globalization;
using Azure.Messaging.ServiceBus;
using MediaGen;
using MediaGen.Queue.ServiceBus.Endpoint;
using Microsoft.Extensions.DependencyInjection;

// Receive + complete at a fixed concurrency, through MediaGen's IJobQueue, through the official client's
// ServiceBusProcessor, and through a bare ServiceBusReceiver in the same loop shape as the IJobQueue run, against one
// in-process test endpoint, one run each. CPU per message is the whole process's (endpoint included), which is steadier
// than messages/s on a loaded machine:
//   dotnet run -c Release --project benchmarks/MediaGen.ServiceBus.Benchmarks -- [--messages 20000] [--concurrency 16]
//     [--prefetch 32] [--warmup 2000]
// Each side gets its own queue, filled before its clock starts; the clock stops at the last completion.
var messages = 20_000;
var concurrency = 16;
var prefetch = 32;
var warmup = 2_000;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    switch (args[i])
    {
        case "--messages": messages = value; break;
        case "--concurrency": concurrency = value; break;
        case "--prefetch": prefetch = value; break;
        case "--warmup": warmup = value; break;
        default: throw new ArgumentException($"Unknown option {args[i]}.");
    }
}

Console.WriteLine($"load average before: {LoadAverage()}");
Console.WriteLine($"{messages} messages, concurrency {concurrency}, prefetch {prefetch}, {Environment.ProcessorCount} cores");
await using var endpoint = new SpecAmqpEndpoint(TimeProvider.System);
foreach (var name in new[] { "warm-adapter", "warm-sdk", "adapter", "sdk", "raw" })
{
    endpoint.CreateQueue(name, TimeSpan.FromMinutes(5));
}

await using var client = new ServiceBusClient(endpoint.ConnectionString);
await RunAdapterAsync("warm-adapter", warmup);
await RunProcessorAsync("warm-sdk", warmup);
var sdk = await RunProcessorAsync("sdk", messages);
var adapter = await RunAdapterAsync("adapter", messages);
var raw = await RunRawAsync("raw", messages);
Console.WriteLine($"raw SDK ServiceBusProcessor: {sdk.Rate,8:N0} messages/s, {sdk.CpuMicroseconds,6:N0} CPU µs/message");
Console.WriteLine($"MediaGen IJobQueue:          {adapter.Rate,8:N0} messages/s, {adapter.CpuMicroseconds,6:N0} CPU µs/message");
Console.WriteLine($"raw SDK ServiceBusReceiver:  {raw.Rate,8:N0} messages/s, {raw.CpuMicroseconds,6:N0} CPU µs/message");
Console.WriteLine($"IJobQueue / processor:       {adapter.Rate / sdk.Rate:0.00}x messages/s, {adapter.CpuMicroseconds / sdk.CpuMicroseconds:0.00}x CPU per message");
Console.WriteLine($"load average after: {LoadAverage()}");

async Task FillAsync(string queue, int count)
{
    await using var sender = client.CreateSender(queue);
    for (var sent = 0; sent < count;)
    {
        using var batch = await sender.CreateMessageBatchAsync();
        while (sent < count && batch.TryAddMessage(new ServiceBusMessage(BinaryData.FromString($"{{\"jobId\":\"job-{sent}\"}}")) { MessageId = $"{queue}-{sent}", ContentType = "application/json" }))
        {
            sent++;
        }

        await sender.SendMessagesAsync(batch);
    }
}

async Task<Figures> RunAdapterAsync(string queueName, int count)
{
    await FillAsync(queueName, count);
    var services = new ServiceCollection();
    services.AddMediaGeneration().UseServiceBusQueue(client, o =>
    {
        o.QueueName = queueName;
        o.PrefetchCount = prefetch;
    });
    await using var provider = services.BuildServiceProvider();
    var queue = provider.GetRequiredService<IJobQueue>();
    var done = 0;
    var started = Start();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        while (Volatile.Read(ref done) < count)
        {
            foreach (var lease in await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)))
            {
                await lease.CompleteAsync();
                Interlocked.Increment(ref done);
            }
        }
    })));
    return Stop(started, count);
}

async Task<Figures> RunRawAsync(string queueName, int count)
{
    await FillAsync(queueName, count);
    await using var receiver = client.CreateReceiver(queueName, new ServiceBusReceiverOptions { PrefetchCount = prefetch });
    var done = 0;
    var started = Start();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        while (Volatile.Read(ref done) < count)
        {
            foreach (var message in await receiver.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(1)))
            {
                await receiver.CompleteMessageAsync(message);
                Interlocked.Increment(ref done);
            }
        }
    })));
    return Stop(started, count);
}

async Task<Figures> RunProcessorAsync(string queueName, int count)
{
    await FillAsync(queueName, count);
    await using var processor = client.CreateProcessor(queueName, new ServiceBusProcessorOptions
    {
        MaxConcurrentCalls = concurrency,
        PrefetchCount = prefetch,
        AutoCompleteMessages = false,
    });
    var done = 0;
    var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    processor.ProcessMessageAsync += async args =>
    {
        await args.CompleteMessageAsync(args.Message);
        if (Interlocked.Increment(ref done) == count)
        {
            finished.TrySetResult();
        }
    };
    processor.ProcessErrorAsync += args =>
    {
        Console.Error.WriteLine($"processor error: {args.Exception.Message}");
        return Task.CompletedTask;
    };
    var started = Start();
    await processor.StartProcessingAsync();
    await finished.Task;
    var result = Stop(started, count);
    await processor.StopProcessingAsync();
    return result;
}

static (long Timestamp, TimeSpan Cpu) Start() => (Stopwatch.GetTimestamp(), Process.GetCurrentProcess().TotalProcessorTime);

static Figures Stop((long Timestamp, TimeSpan Cpu) started, int count) =>
    new(count / Stopwatch.GetElapsedTime(started.Timestamp).TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - started.Cpu).TotalMicroseconds / count);

static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

/// <summary>One run's figures.</summary>
/// <param name="Rate">Messages received and completed per second.</param>
/// <param name="CpuMicroseconds">Process CPU time per message, endpoint included.</param>
internal readonly record struct Figures(double Rate, double CpuMicroseconds);
