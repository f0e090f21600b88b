using System.Diagnostics;

namespace Rekindle.Testbed;

/// <summary>Runs commands for the tests; a failure throws with the command, exit code and output.</summary>
public static class Shell
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string All => Output + Error;
    }

    public static Result Run(string file, params string[] args) => Run(file, args, TimeSpan.FromSeconds(60), check: true);

    public static Result Try(string file, params string[] args) => Run(file, args, TimeSpan.FromSeconds(60), check: false);

    public static Result Run(string file, IEnumerable<string> args, TimeSpan timeout, bool check, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        if (environment != null)
            foreach (var (key, value) in environment)
                start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds}s");
        }
        var result = new Result(process.ExitCode, output.Result, error.Result);
        if (check && result.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {result.ExitCode}: {result.All}");
        return result;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after the timeout.</summary>
    public static void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out after {timeout.TotalSeconds}s waiting for {what}");
            Thread.Sleep(50);
        }
    }

    public static bool IsRoot => Environment.UserName == "root" || Run("id", "-u").Output.Trim() == "0";
}
