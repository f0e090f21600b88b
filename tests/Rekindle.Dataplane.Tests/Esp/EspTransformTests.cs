using System.Buffers.Binary;
using System.Security.Cryptography;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Dataplane.Esp;

namespace Rekindle.Dataplane.Tests.Esp;

public class EspTransformTests
{
    public static TheoryData<string> Suites => ["aes256gcm16", "aes128gcm16", "aes256gcm16-esn", "aes128-sha256", "aes256-sha384", "aes256-sha512-esn"];

    private static (EspTransform Sender, EspTransform Receiver) Pair(string esp)
    {
        var suite = ChildCryptoSuite.FromProposal(ProposalParser.ParseEsp(esp)[0]);
        var encryption = RandomNumberGenerator.GetBytes(suite.Cipher.KeyMaterialLength);
        var integrity = RandomNumberGenerator.GetBytes(suite.Integrity?.KeyLength ?? 0);
        return (new EspTransform(suite, encryption, integrity), new EspTransform(suite, encryption, integrity));
    }

    private static byte[] Inner(int length)
    {
        var packet = RandomNumberGenerator.GetBytes(length);
        packet[0] = 0x45;
        return packet;
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void SealedPacketsOpenWithTheirSequenceNumber(string esp)
    {
        var (sender, receiver) = Pair(esp);
        foreach (int length in new[] { 20, 21, 63, 1400, 9000 })
        {
            ulong sequence = sender.Suite.Esn ? (7UL << 32) | (uint)length : (ulong)length;
            var inner = Inner(length);
            var buffer = new byte[sender.SealedLength(length) + 16];
            inner.CopyTo(buffer, sender.Headroom);
            int sealedLength = sender.Seal(buffer, length, 0xc0ffee01, sequence, 4);
            Assert.Equal(sender.SealedLength(length), sealedLength);
            Assert.Equal(0xc0ffee01u, BinaryPrimitives.ReadUInt32BigEndian(buffer));
            Assert.Equal((uint)sequence, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(4)));
            Assert.False(buffer.AsSpan(sender.Headroom, length).SequenceEqual(inner)); // encrypted

            var packet = buffer.AsSpan(0, sealedLength);
            Assert.True(receiver.TryOpen(packet, sequence, out int innerLength, out byte nextHeader));
            Assert.Equal(length, innerLength);
            Assert.Equal(4, nextHeader);
            Assert.True(packet.Slice(receiver.Headroom, innerLength).SequenceEqual(inner));
        }
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void AnyFlippedBitOrWrongSequenceFailsIntegrity(string esp)
    {
        var (sender, receiver) = Pair(esp);
        var buffer = new byte[sender.SealedLength(100)];
        Inner(100).CopyTo(buffer, sender.Headroom);
        int length = sender.Seal(buffer, 100, 0x1000, 42, 4);
        for (int i = 0; i < length; i++)
        {
            var tampered = buffer.AsSpan(0, length).ToArray();
            tampered[i] ^= 0x80;
            // As the forwarder does: the sequence number comes from the packet's own field.
            ulong sequence = BinaryPrimitives.ReadUInt32BigEndian(tampered.AsSpan(4));
            Assert.False(receiver.TryOpen(tampered, sequence, out _, out _), $"flip at {i} went unnoticed");
        }
        // With ESN the unsent high half of the sequence number is authenticated too.
        if (sender.Suite.Esn)
            Assert.False(receiver.TryOpen(buffer.AsSpan(0, length).ToArray(), (1UL << 32) | 42, out _, out _));
        Assert.True(receiver.TryOpen(buffer.AsSpan(0, length).ToArray(), 42, out _, out _));
    }
}
