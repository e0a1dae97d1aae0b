using Microsoft.Extensions.Logging;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>Writes warnings and errors to the console, so a failing run shows why a connection closed.</summary>
internal sealed class ConsoleWarningLogger : ILogger
{
    public static readonly ConsoleWarningLogger Instance = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Console.WriteLine($"[{logLevel}] {formatter(state, exception)} {exception?.GetType().Name} {exception?.Message}");
        }
    }
}
