using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The JSON a lifecycle step sends (its job, its event and the event before it), written through a per-thread buffer into arrays rented
/// from the shared pool. The flush that sends the step gives them back once the call is answered, so a step's JSON
/// costs no array of its own.
/// </summary>
internal readonly struct RedisStepJson
{
    /// <summary>A thread's buffer grown past this is let go after use rather than kept.</summary>
    private const int MaxKeptBuffer = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly byte[]? _job;
    private readonly int _jobLength;
    private readonly byte[]? _event;
    private readonly int _eventLength;
    private readonly byte[]? _preceding;
    private readonly int _precedingLength;

    private RedisStepJson(byte[]? job, int jobLength, byte[]? jobEvent, int eventLength, byte[]? preceding, int precedingLength)
    {
        _job = job;
        _jobLength = jobLength;
        _event = jobEvent;
        _eventLength = eventLength;
        _preceding = preceding;
        _precedingLength = precedingLength;
    }

    /// <summary>The job's JSON, or an empty value when the step writes no job.</summary>
    public RedisValue Job => Value(_job, _jobLength);

    /// <summary>The event's JSON, or an empty value when the step publishes none.</summary>
    public RedisValue Event => Value(_event, _eventLength);

    /// <summary>The JSON of the event published just before <see cref="Event"/>, or an empty value for none.</summary>
    public RedisValue PrecedingEvent => Value(_preceding, _precedingLength);

    /// <summary>Writes the JSON of <paramref name="job"/>, <paramref name="jobEvent"/> and <paramref name="preceding"/> (each may be null).</summary>
    public static RedisStepJson Write(GenerationJob? job, JobEvent? jobEvent, JobEvent? preceding = null)
    {
        var (jobBytes, jobLength) = job is null ? (null, 0) : Rent(job, RedisJsonContext.Default.GenerationJob);
        var (eventBytes, eventLength) = jobEvent is null ? (null, 0) : Rent(jobEvent, RedisJsonContext.Default.JobEvent);
        var (precedingBytes, precedingLength) = preceding is null ? (null, 0) : Rent(preceding, RedisJsonContext.Default.JobEvent);
        return new RedisStepJson(jobBytes, jobLength, eventBytes, eventLength, precedingBytes, precedingLength);
    }

    /// <summary>Gives the arrays back; the values above must not be used after.</summary>
    public void Return()
    {
        if (_job is not null)
        {
            ArrayPool<byte>.Shared.Return(_job);
        }

        if (_event is not null)
        {
            ArrayPool<byte>.Shared.Return(_event);
        }

        if (_preceding is not null)
        {
            ArrayPool<byte>.Shared.Return(_preceding);
        }
    }

    private static RedisValue Value(byte[]? bytes, int length) => bytes is null ? RedisValue.EmptyString : (RedisValue)new ReadOnlyMemory<byte>(bytes, 0, length);

    private static (byte[]? Bytes, int Length) Rent<T>(T value, JsonTypeInfo<T> type)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Encoder = type.Options.Encoder,
            Indented = type.Options.WriteIndented,
            MaxDepth = type.Options.MaxDepth,
        });
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        try
        {
            JsonSerializer.Serialize(writer, value, type);
            var rented = ArrayPool<byte>.Shared.Rent(buffer.WrittenCount);
            buffer.WrittenSpan.CopyTo(rented);
            return (rented, buffer.WrittenCount);
        }
        finally
        {
            writer.Reset(Stream.Null);
            if (buffer.Capacity > MaxKeptBuffer)
            {
                t_buffer = null;
                t_writer = null;
            }
            else
            {
                buffer.ResetWrittenCount();
            }
        }
    }
}
