namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Keeps one array of each exact length up to a bound, for the next call that needs the same length. A script call
/// takes its arguments as an array whose length is the argument count, so <see cref="System.Buffers.ArrayPool{T}"/>'s
/// larger arrays do not fit; a batcher's calls come in a few lengths (one per batch size), which this keeps warm.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
/// <remarks>
/// A returned array is cleared first, so a kept array holds no references. Give back only an array that nothing reads
/// any more: after a call failed, the client may still hold it, so a caller drops it instead.
/// </remarks>
internal sealed class ExactLengthArrays<T>
{
    private readonly T[]?[] _kept;

    /// <summary>Creates the pool.</summary>
    /// <param name="maxLength">The longest array kept; longer ones are allocated each time.</param>
    public ExactLengthArrays(int maxLength) => _kept = new T[]?[maxLength + 1];

    /// <summary>An array of exactly <paramref name="length"/> elements, all default.</summary>
    public T[] Rent(int length) =>
        (length < _kept.Length ? Interlocked.Exchange(ref _kept[length], null) : null) ?? new T[length];

    /// <summary>Keeps <paramref name="array"/> for the next <see cref="Rent"/> of its length.</summary>
    public void Return(T[] array)
    {
        if (array.Length < _kept.Length)
        {
            Array.Clear(array);
            Volatile.Write(ref _kept[array.Length], array);
        }
    }
}

/// <summary>
/// A pool of arrays of one length for values that wait in a batcher until their flush copies them out: many are out at
/// once on a busy process (every step waiting for the next call), more than <see cref="System.Buffers.ArrayPool{T}"/>'s
/// shared pool keeps per size, which then allocates again.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class FixedLengthArrays<T>(int length, int maxKept)
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<T[]> _kept = new();

    /// <summary>An array of <c>length</c> elements, all default.</summary>
    public T[] Rent() => _kept.TryDequeue(out var array) ? array : new T[length];

    /// <summary>Clears <paramref name="array"/> and keeps it, unless <c>maxKept</c> arrays are kept already.</summary>
    public void Return(T[] array)
    {
        if (_kept.Count < maxKept)
        {
            Array.Clear(array);
            _kept.Enqueue(array);
        }
    }
}
