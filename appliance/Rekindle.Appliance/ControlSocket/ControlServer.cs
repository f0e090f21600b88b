using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Rekindle.Control.Engine;

namespace Rekindle.Appliance.ControlSocket;

/// <summary>The daemon's side of the control socket: a unix stream socket, one JSON request line and one answer line per connection.</summary>
public sealed class ControlServer(string path, Func<ControlRequest, Task<ControlResponse>> handle, ILog log)
{
    public async Task RunAsync(CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (File.Exists(path))
            File.Delete(path); // a stale socket from a daemon that did not stop cleanly
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
        listener.Listen(16);
        log.Info("control", $"control socket at {path}");
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                var client = await listener.AcceptAsync(cancellation);
                _ = ServeAsync(client, cancellation);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            File.Delete(path);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellation)
    {
        using (client)
        await using (var stream = new NetworkStream(client, ownsSocket: false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
            ControlResponse response;
            try
            {
                var line = await reader.ReadLineAsync(cancellation);
                var request = line == null ? null : JsonSerializer.Deserialize<ControlRequest>(line, ControlJson.Options);
                response = request == null ? new ControlResponse(false, "empty request") : await handle(request);
            }
            catch (JsonException e)
            {
                response = new ControlResponse(false, $"malformed request: {e.Message}");
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                log.Error("control", $"command failed: {e}");
                response = new ControlResponse(false, $"internal error: {e.Message}");
            }
            try
            {
                await writer.WriteLineAsync(JsonSerializer.Serialize(response, ControlJson.Options));
            }
            catch (IOException)
            {
            }
        }
    }
}
