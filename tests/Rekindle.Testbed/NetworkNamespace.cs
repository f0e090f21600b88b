using Tmds.Linux;

namespace Rekindle.Testbed;

/// <summary>Runs code inside a named network namespace on a thread of its own (setns), so sockets it opens live there.</summary>
public static class NetworkNamespace
{
    public static T Run<T>(string name, Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(name);
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure != null)
            throw new AggregateException($"in network namespace {name}", failure);
        return result;
    }

    private static unsafe void Enter(string name)
    {
        var path = System.Text.Encoding.ASCII.GetBytes($"/run/netns/{name}\0");
        int fd;
        fixed (byte* p = path)
            fd = LibC.open(p, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0)
            throw new InvalidOperationException($"cannot open network namespace {name}: errno {LibC.errno}");
        try
        {
            if (LibC.setns(fd, LibC.CLONE_NEWNET) < 0)
                throw new InvalidOperationException($"setns({name}) failed: errno {LibC.errno}");
        }
        finally
        {
            LibC.close(fd);
        }
    }
}
