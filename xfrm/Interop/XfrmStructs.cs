using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Rekindle.Xfrm.Interop;

// The XFRM user API structures of <linux/xfrm.h>, names as in C. XfrmStructTests compiles offsetof/sizeof
// assertions against the installed kernel headers to prove these layouts.
#pragma warning disable IDE1006, CS0649

/// <summary>xfrm_address_t: an IPv4 or IPv6 address in network order, 16 octets, aligned as the C union of __be32.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct xfrm_address_t
{
    public fixed uint a6[4];

    public static xfrm_address_t From(IPAddress address)
    {
        var result = new xfrm_address_t();
        address.TryWriteBytes(new Span<byte>((byte*)result.a6, 16), out _);
        return result;
    }

    public IPAddress ToAddress(ushort family)
    {
        fixed (uint* p = a6)
            return new IPAddress(new ReadOnlySpan<byte>(p, family == AF_INET ? 4 : 16));
    }

    public const ushort AF_INET = 2, AF_INET6 = 10;

    public static ushort Family(IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork ? AF_INET : AF_INET6;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_id
{
    public xfrm_address_t daddr;
    public uint spi; // network order
    public byte proto;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_selector
{
    public xfrm_address_t daddr;
    public xfrm_address_t saddr;
    public ushort dport, dport_mask, sport, sport_mask; // network order
    public ushort family;
    public byte prefixlen_d, prefixlen_s, proto;
    public int ifindex;
    public uint user;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_lifetime_cfg
{
    public ulong soft_byte_limit, hard_byte_limit, soft_packet_limit, hard_packet_limit;
    public ulong soft_add_expires_seconds, hard_add_expires_seconds, soft_use_expires_seconds, hard_use_expires_seconds;

    public static xfrm_lifetime_cfg Infinite => new()
    {
        soft_byte_limit = ulong.MaxValue, hard_byte_limit = ulong.MaxValue,
        soft_packet_limit = ulong.MaxValue, hard_packet_limit = ulong.MaxValue,
    };
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_lifetime_cur
{
    public ulong bytes, packets, add_time, use_time;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_stats
{
    public uint replay_window, replay, integrity_failed;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_usersa_info
{
    public xfrm_selector sel;
    public xfrm_id id;
    public xfrm_address_t saddr;
    public xfrm_lifetime_cfg lft;
    public xfrm_lifetime_cur curlft;
    public xfrm_stats stats;
    public uint seq;
    public uint reqid;
    public ushort family;
    public byte mode, replay_window, flags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_usersa_id
{
    public xfrm_address_t daddr;
    public uint spi;
    public ushort family;
    public byte proto;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_userspi_info
{
    public xfrm_usersa_info info;
    public uint min, max;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_userpolicy_info
{
    public xfrm_selector sel;
    public xfrm_lifetime_cfg lft;
    public xfrm_lifetime_cur curlft;
    public uint priority, index;
    public byte dir, action, flags, share;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_userpolicy_id
{
    public xfrm_selector sel;
    public uint index;
    public byte dir;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_user_tmpl
{
    public xfrm_id id;
    public ushort family;
    public xfrm_address_t saddr;
    public uint reqid;
    public byte mode, share, optional;
    public uint aalgos, ealgos, calgos;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_encap_tmpl
{
    public ushort encap_type;
    public ushort encap_sport, encap_dport; // network order
    public xfrm_address_t encap_oa;
}

/// <summary>xfrm_algo_aead without its flexible key array (72 octets).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct xfrm_algo_aead
{
    public fixed byte alg_name[64];
    public uint alg_key_len; // bits
    public uint alg_icv_len; // bits
}

/// <summary>xfrm_algo without its key (68 octets).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct xfrm_algo
{
    public fixed byte alg_name[64];
    public uint alg_key_len;
}

/// <summary>xfrm_algo_auth without its key (72 octets).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct xfrm_algo_auth
{
    public fixed byte alg_name[64];
    public uint alg_key_len;
    public uint alg_trunc_len;
}

/// <summary>xfrm_replay_state_esn without its bitmap (24 octets).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_replay_state_esn
{
    public uint bmp_len, oseq, seq, oseq_hi, seq_hi, replay_window;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_user_expire
{
    public xfrm_usersa_info state;
    public byte hard;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_user_acquire
{
    public xfrm_id id;
    public xfrm_address_t saddr;
    public xfrm_selector sel;
    public xfrm_userpolicy_info policy;
    public uint aalgos, ealgos, calgos, seq;
}

[StructLayout(LayoutKind.Sequential)]
internal struct xfrm_mark
{
    public uint v, m;
}

[StructLayout(LayoutKind.Sequential)]
internal struct nlmsghdr
{
    public uint nlmsg_len;
    public ushort nlmsg_type, nlmsg_flags;
    public uint nlmsg_seq, nlmsg_pid;
}

/// <summary>Message types, attributes and constants of the XFRM netlink family.</summary>
internal static class Uapi
{
    public const int NETLINK_XFRM = 6;
    public const ushort XFRM_MSG_NEWSA = 0x10, XFRM_MSG_DELSA = 0x11, XFRM_MSG_GETSA = 0x12, XFRM_MSG_NEWPOLICY = 0x13,
        XFRM_MSG_DELPOLICY = 0x14, XFRM_MSG_GETPOLICY = 0x15, XFRM_MSG_ALLOCSPI = 0x16, XFRM_MSG_ACQUIRE = 0x17,
        XFRM_MSG_EXPIRE = 0x18, XFRM_MSG_UPDPOLICY = 0x19, XFRM_MSG_UPDSA = 0x1a, XFRM_MSG_POLEXPIRE = 0x1b;
    public const ushort XFRMA_ALG_AUTH = 1, XFRMA_ALG_CRYPT = 2, XFRMA_ENCAP = 4, XFRMA_TMPL = 5, XFRMA_LTIME_VAL = 9,
        XFRMA_LASTUSED = 15, XFRMA_ALG_AEAD = 18, XFRMA_ALG_AUTH_TRUNC = 20, XFRMA_MARK = 21, XFRMA_REPLAY_ESN_VAL = 23;
    public const uint XFRMNLGRP_ACQUIRE = 1, XFRMNLGRP_EXPIRE = 2;
    public const byte XFRM_MODE_TUNNEL = 1;
    public const byte XFRM_STATE_ESN = 128;
    public const byte XFRM_POLICY_IN = 0, XFRM_POLICY_OUT = 1, XFRM_POLICY_FWD = 2;
    public const byte XFRM_POLICY_ALLOW = 0, XFRM_POLICY_BLOCK = 1;
    public const byte IPPROTO_ESP = 50;
    public const ushort UDP_ENCAP_ESPINUDP = 2;
    public const ushort NLMSG_ERROR = 2, NLMSG_DONE = 3;
    public const ushort NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400, NLM_F_ACK_TLVS = 0x200;
    public const int SOL_NETLINK = 270, NETLINK_CAP_ACK = 10, NETLINK_EXT_ACK = 11;
    public const ushort NLMSGERR_ATTR_MSG = 1;
}
