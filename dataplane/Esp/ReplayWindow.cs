namespace Rekindle.Dataplane.Esp;

/// <summary>
/// The anti-replay window (RFC 4303 §3.4.3) as a ring of 64-bit words (RFC 6479), with the extended sequence number
/// inference of RFC 4303 Appendix A: only the low 32 bits travel, the high half is guessed from the window.
/// <see cref="Check"/> runs before integrity verification, <see cref="Update"/> after it succeeds.
/// </summary>
public sealed class ReplayWindow
{
    private const int WordBits = 64;
    private readonly ulong[] _ring;
    private readonly int _size;
    private ulong _top; // highest sequence number accepted (64-bit with ESN)

    /// <param name="size">Window size in packets: a multiple of 64, at least 64.</param>
    public ReplayWindow(int size = 1024, bool esn = false)
    {
        if (size < WordBits || size % WordBits != 0)
            throw new ArgumentOutOfRangeException(nameof(size), "window size must be a positive multiple of 64");
        // One extra word so that sliding never clears bits still inside the window (RFC 6479 §2.3).
        _ring = new ulong[size / WordBits + 1];
        _size = size;
        Esn = esn;
    }

    public bool Esn { get; }
    public int Size => _size;
    public ulong Highest => _top;

    /// <summary>
    /// The full sequence number a received low half stands for (its high half inferred with ESN), or false when it
    /// is too old or already seen.
    /// </summary>
    public bool Check(uint low, out ulong sequence)
    {
        sequence = Esn ? Infer(low) : low;
        if (sequence == 0)
            return false; // 0 is never sent (RFC 4303 §3.3.3)
        if (sequence > _top)
            return true;
        if (_top - sequence >= (ulong)_size)
            return false;
        ulong word = (sequence / WordBits) % (ulong)_ring.Length;
        return (_ring[word] & (1UL << (int)(sequence % WordBits))) == 0;
    }

    /// <summary>Marks an authenticated sequence number as seen, sliding the window forward if it is the newest.</summary>
    public void Update(ulong sequence)
    {
        if (sequence > _top)
        {
            ulong oldWord = _top / WordBits, newWord = sequence / WordBits;
            ulong clear = Math.Min(newWord - oldWord, (ulong)_ring.Length);
            for (ulong i = 1; i <= clear; i++)
                _ring[(oldWord + i) % (ulong)_ring.Length] = 0;
            _top = sequence;
        }
        _ring[(sequence / WordBits) % (ulong)_ring.Length] |= 1UL << (int)(sequence % WordBits);
    }

    /// <summary>RFC 4303 Appendix A.2.2: pick the high half that puts the number closest to the window.</summary>
    private ulong Infer(uint low)
    {
        uint topLow = (uint)_top, topHigh = (uint)(_top >> 32);
        uint bottom = topLow - (uint)(_size - 1); // Tl - W + 1, modulo 2^32
        uint high;
        if (topLow >= (uint)(_size - 1))
            high = low >= bottom ? topHigh : topHigh + 1; // window within one sub-space
        else
            high = low >= bottom ? topHigh - 1 : topHigh; // window spans two sub-spaces
        if (high == uint.MaxValue && topHigh == 0)
            high = 0; // no wrap below zero
        return ((ulong)high << 32) | low;
    }
}
