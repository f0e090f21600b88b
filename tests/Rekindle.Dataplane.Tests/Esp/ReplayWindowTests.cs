using Rekindle.Dataplane.Esp;

namespace Rekindle.Dataplane.Tests.Esp;

public class ReplayWindowTests
{
    private static bool Accept(ReplayWindow window, ulong sequence)
    {
        if (!window.Check((uint)sequence, out var full) || full != sequence)
            return false;
        window.Update(full);
        return true;
    }

    [Fact]
    public void AcceptsEachNumberOnceAndOutOfOrderWithinTheWindow()
    {
        var window = new ReplayWindow(1024);
        Assert.False(window.Check(0, out _)); // never sent
        Assert.True(Accept(window, 5));
        Assert.False(Accept(window, 5));
        Assert.True(Accept(window, 3));
        Assert.True(Accept(window, 1000));
        Assert.True(Accept(window, 4));
        Assert.False(Accept(window, 3));
        Assert.True(Accept(window, 2000));
        Assert.False(window.Check(976, out _)); // 2000 - 976 = 1024: just outside
        Assert.True(Accept(window, 977));
        Assert.False(Accept(window, 1000)); // seen, still inside
    }

    [Fact]
    public void SlidingFarForwardForgetsOldBits()
    {
        var window = new ReplayWindow(128);
        for (ulong i = 1; i <= 200; i++)
            Assert.True(Accept(window, i));
        Assert.True(Accept(window, 100_000));
        Assert.True(Accept(window, 100_000 - 127)); // its bit must have been cleared by the slide
        Assert.False(Accept(window, 100_000 - 127));
        Assert.False(window.Check(100_000 - 128, out _));
    }

    [Fact]
    public void RandomOrderMatchesAReferenceSet()
    {
        var random = new Random(4303);
        var window = new ReplayWindow(256);
        var seen = new HashSet<ulong>();
        ulong top = 0;
        for (int i = 0; i < 50_000; i++)
        {
            ulong sequence = (ulong)Math.Max(1, (long)top + random.Next(-300, 40));
            bool expected = sequence > top || (top - sequence < 256 && !seen.Contains(sequence));
            Assert.Equal(expected, Accept(window, sequence));
            if (expected)
            {
                seen.Add(sequence);
                top = Math.Max(top, sequence);
            }
        }
    }

    [Fact]
    public void ExtendedSequenceNumbersInferTheHighHalfAcrossTheWrap()
    {
        var window = new ReplayWindow(1024, esn: true);
        ulong nearWrap = uint.MaxValue - 10;
        Assert.True(Accept(window, nearWrap));
        // The low half wraps to small numbers: they belong to the next 2^32 block.
        Assert.True(window.Check(5, out var next));
        Assert.Equal(((ulong)1 << 32) | 5, next);
        window.Update(next);
        // A late packet from before the wrap is still recognised as the old block.
        Assert.True(window.Check(uint.MaxValue - 20, out var late));
        Assert.Equal((ulong)uint.MaxValue - 20, late);
        window.Update(late);
        Assert.False(window.Check(uint.MaxValue - 20, out _));
    }
}
