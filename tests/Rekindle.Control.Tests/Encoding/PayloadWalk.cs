using System.Buffers.Binary;

namespace Rekindle.Control.Tests.Encoding;

/// <summary>Test helper: finds the offset of the last payload header in an unprotected message.</summary>
public static class PayloadWalk
{
    public static int LastPayloadOffset(byte[] message)
    {
        int offset = 28, last = 28;
        while (offset < message.Length)
        {
            last = offset;
            offset += BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
        }
        return last;
    }
}
