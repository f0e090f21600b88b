using System.Runtime.InteropServices;
using Rekindle.Testbed;
using Rekindle.Xfrm.Interop;

namespace Rekindle.Xfrm.Tests.Interop;

/// <summary>
/// Proves the managed XFRM structures against the kernel's UAPI headers (Debian linux-libc-dev): a C program with
/// offsetof/sizeof for every field we use is compiled and run, and its numbers must equal Marshal's.
/// </summary>
public class XfrmStructTests
{
    private static readonly (string Struct, Type Type, string[] Fields)[] Checked =
    [
        ("xfrm_selector", typeof(xfrm_selector), ["daddr", "saddr", "dport", "dport_mask", "sport", "sport_mask", "family", "prefixlen_d", "prefixlen_s", "proto", "ifindex", "user"]),
        ("xfrm_id", typeof(xfrm_id), ["daddr", "spi", "proto"]),
        ("xfrm_lifetime_cfg", typeof(xfrm_lifetime_cfg), ["soft_byte_limit", "hard_use_expires_seconds"]),
        ("xfrm_lifetime_cur", typeof(xfrm_lifetime_cur), ["bytes", "packets", "add_time", "use_time"]),
        ("xfrm_stats", typeof(xfrm_stats), ["replay_window", "replay", "integrity_failed"]),
        ("xfrm_usersa_info", typeof(xfrm_usersa_info), ["sel", "id", "saddr", "lft", "curlft", "stats", "seq", "reqid", "family", "mode", "replay_window", "flags"]),
        ("xfrm_usersa_id", typeof(xfrm_usersa_id), ["daddr", "spi", "family", "proto"]),
        ("xfrm_userspi_info", typeof(xfrm_userspi_info), ["info", "min", "max"]),
        ("xfrm_userpolicy_info", typeof(xfrm_userpolicy_info), ["sel", "lft", "curlft", "priority", "index", "dir", "action", "flags", "share"]),
        ("xfrm_userpolicy_id", typeof(xfrm_userpolicy_id), ["sel", "index", "dir"]),
        ("xfrm_user_tmpl", typeof(xfrm_user_tmpl), ["id", "family", "saddr", "reqid", "mode", "share", "optional", "aalgos", "ealgos", "calgos"]),
        ("xfrm_encap_tmpl", typeof(xfrm_encap_tmpl), ["encap_type", "encap_sport", "encap_dport", "encap_oa"]),
        ("xfrm_algo_aead", typeof(xfrm_algo_aead), ["alg_name", "alg_key_len", "alg_icv_len"]),
        ("xfrm_algo", typeof(xfrm_algo), ["alg_name", "alg_key_len"]),
        ("xfrm_algo_auth", typeof(xfrm_algo_auth), ["alg_name", "alg_key_len", "alg_trunc_len"]),
        ("xfrm_replay_state_esn", typeof(xfrm_replay_state_esn), ["bmp_len", "oseq", "seq", "oseq_hi", "seq_hi", "replay_window"]),
        ("xfrm_user_expire", typeof(xfrm_user_expire), ["state", "hard"]),
        ("xfrm_user_acquire", typeof(xfrm_user_acquire), ["id", "saddr", "sel", "policy", "aalgos", "ealgos", "calgos", "seq"]),
        ("xfrm_mark", typeof(xfrm_mark), ["v", "m"]),
        ("nlmsghdr", typeof(nlmsghdr), ["nlmsg_len", "nlmsg_type", "nlmsg_flags", "nlmsg_seq", "nlmsg_pid"]),
    ];

    [Fact]
    public void ManagedLayoutsMatchTheKernelHeaders()
    {
        if (!File.Exists("/usr/include/linux/xfrm.h"))
            throw new InvalidOperationException("the kernel UAPI headers are missing: apt-get install linux-libc-dev");
        var dir = Directory.CreateTempSubdirectory("xfrm-structs-");
        try
        {
            var program = new System.Text.StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <linux/netlink.h>\n#include <linux/xfrm.h>\nint main(void) {\n");
            foreach (var (name, _, fields) in Checked)
            {
                string type = name == "xfrm_address_t" ? name : $"struct {name}";
                program.Append($"  printf(\"{name} sizeof %zu\\n\", sizeof({type}));\n");
                foreach (var field in fields)
                    program.Append($"  printf(\"{name} {field} %zu\\n\", offsetof({type}, {field}));\n");
            }
            program.Append("  printf(\"xfrm_address_t sizeof %zu\\n\", sizeof(xfrm_address_t));\n  return 0;\n}\n");
            var source = Path.Combine(dir.FullName, "layout.c");
            var binary = Path.Combine(dir.FullName, "layout");
            File.WriteAllText(source, program.ToString());
            Shell.Run("gcc", ["-o", binary, source], TimeSpan.FromSeconds(60), check: true);
            var expected = Shell.Run(binary).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var mismatches = new List<string>();
            foreach (var line in expected)
            {
                var parts = line.Split(' ');
                int cValue = int.Parse(parts[^1]);
                var (_, type, _) = parts[0] == "xfrm_address_t" ? ("", typeof(xfrm_address_t), Array.Empty<string>()) : Checked.Single(c => c.Struct == parts[0]);
                int managed = parts[1] == "sizeof" ? Marshal.SizeOf(type) : (int)Marshal.OffsetOf(type, parts[1]);
                if (managed != cValue)
                    mismatches.Add($"{parts[0]}.{parts[1]}: C {cValue}, managed {managed}");
            }
            Assert.True(expected.Length > 100, "the layout program printed too little");
            Assert.Empty(mismatches);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
