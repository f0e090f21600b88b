using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Rekindle.Appliance.ControlSocket;

/// <summary>rekindlectl's side of the control socket.</summary>
public static class ControlClient
{
    public static async Task<ControlResponse> SendAsync(string path, ControlRequest request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot reach rekindled at {path}: {e.Message} (is the daemon running?)", e);
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await writer.WriteLineAsync(JsonSerializer.Serialize(request, ControlJson.Options));
        var line = await reader.ReadLineAsync() ?? throw new IOException("rekindled closed the control socket without answering");
        return JsonSerializer.Deserialize<ControlResponse>(line, ControlJson.Options)!;
    }
}
