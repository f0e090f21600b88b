using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;
using Rekindle.Xfrm.Interop;

namespace Rekindle.Xfrm;

/// <summary>
/// The kernel back-end: CHILD SAs and policies in the Linux XFRM framework over NETLINK_XFRM. Errors carry the errno,
/// the kernel's extended-ack text and the module that is likely missing. A monitor thread turns the kernel's EXPIRE
/// and ACQUIRE multicasts into <see cref="Expired"/> and <see cref="Acquired"/>.
/// </summary>
public sealed unsafe class XfrmBackend : ISaBackend
{
    private const uint SpiMin = 0xc0000000, SpiMax = 0xcfffffff;
    private readonly NetlinkSocket _socket;
    private readonly ILog _log;
    private readonly ConcurrentDictionary<SaId, SaParameters> _installed = new();
    private readonly ConcurrentDictionary<SaId, byte> _larval = new();
    private readonly RouteTable? _routes;
    private NetlinkSocket? _monitorSocket;
    private Thread? _monitor;
    private volatile bool _stop;

    /// <param name="installRoutes">Route remote subnets toward the peer with each outbound policy (off for tests that
    /// drive the back-end from a thread inside another namespace, where iproute2 would act on the process's own).</param>
    public XfrmBackend(ILog log, bool installRoutes = true)
    {
        _log = log;
        _socket = NetlinkSocket.Open();
        _routes = installRoutes ? new RouteTable() : null;
    }

    public string Name => "xfrm";

    public event Action<SaExpiry>? Expired;
    public event Action<SaAcquire>? Acquired;

    /// <summary>
    /// Whether this kernel can hold an ESP SA: adds and removes a throwaway AES-GCM SA on loopback.
    /// Null when it can, otherwise the reason (the kernel's answer and what to load).
    /// </summary>
    public string? ProbeEsp()
    {
        var suite = Rekindle.Control.Crypto.ChildCryptoSuite.FromProposal(Rekindle.Control.Config.ProposalParser.ParseEsp("aes128gcm16")[0]);
        var loopback = new IPEndPoint(IPAddress.Loopback, 0);
        var probe = new SaParameters(new SaId(IPAddress.Loopback, 0xc0ffee00 | (uint)Random.Shared.Next(0xff)), SaDirection.Outbound, loopback, loopback,
            suite, new byte[20], [], [TrafficSelector.FromCidr("127.0.0.1/32")], [TrafficSelector.FromCidr("127.0.0.1/32")], false, 0);
        try
        {
            AddSa(probe);
            DeleteSa(probe.Id);
            return null;
        }
        catch (SaBackendException e)
        {
            return e.Message;
        }
    }

    /// <summary>Listens for EXPIRE and ACQUIRE on the XFRM multicast groups.</summary>
    public void StartMonitor()
    {
        _monitorSocket = NetlinkSocket.Open((1u << ((int)Uapi.XFRMNLGRP_ACQUIRE - 1)) | (1u << ((int)Uapi.XFRMNLGRP_EXPIRE - 1)));
        _monitor = new Thread(Monitor) { Name = "rekindle-xfrm-monitor", IsBackground = true };
        _monitor.Start();
    }

    public uint AllocateSpi(IPAddress source, IPAddress destination, ProtocolId protocol)
    {
        var info = new xfrm_userspi_info
        {
            info = new xfrm_usersa_info
            {
                id = new xfrm_id { daddr = xfrm_address_t.From(destination), proto = Uapi.IPPROTO_ESP },
                saddr = xfrm_address_t.From(source),
                family = xfrm_address_t.Family(destination),
                mode = Uapi.XFRM_MODE_TUNNEL,
                lft = xfrm_lifetime_cfg.Infinite,
            },
            min = SpiMin,
            max = SpiMax,
        };
        var writer = new NetlinkWriter(Uapi.XFRM_MSG_ALLOCSPI, Uapi.NLM_F_REQUEST | Uapi.NLM_F_ACK);
        try
        {
            writer.Struct(info);
            uint spi = 0;
            _socket.Request(writer.Message, $"XFRM_MSG_ALLOCSPI {source} -> {destination}", (type, payload) =>
            {
                if (type == Uapi.XFRM_MSG_NEWSA && payload.Length >= Marshal.SizeOf<xfrm_usersa_info>())
                    spi = BinaryPrimitives.ReverseEndianness(MemoryMarshal.Read<xfrm_usersa_info>(payload).id.spi);
            });
            if (spi == 0)
                throw new SaBackendException($"XFRM_MSG_ALLOCSPI {source} -> {destination}: the kernel returned no SPI");
            _larval[new SaId(destination, spi, protocol)] = 0;
            return spi;
        }
        catch (XfrmException e)
        {
            throw new SaBackendException(e.Message, e.Errno);
        }
        finally
        {
            writer.Dispose();
        }
    }

    public void AddSa(SaParameters sa)
    {
        // An inbound SA whose SPI came from ALLOCSPI replaces the larval state (as strongSwan does with UPDSA).
        bool update = _larval.TryRemove(sa.Id, out _);
        var writer = new NetlinkWriter(update ? Uapi.XFRM_MSG_UPDSA : Uapi.XFRM_MSG_NEWSA, Uapi.NLM_F_REQUEST | Uapi.NLM_F_ACK);
        try
        {
            WriteSa(ref writer, sa);
            _socket.Request(writer.Message, $"{(update ? "XFRM_MSG_UPDSA" : "XFRM_MSG_NEWSA")} {sa.Id} ({sa.Suite})");
            _installed[sa.Id] = sa;
        }
        catch (XfrmException e)
        {
            throw new SaBackendException(Explain(e, sa), e.Errno);
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static string Explain(XfrmException e, SaParameters sa) => e.Errno switch
    {
        // EPROTONOSUPPORT: no ESP type ("Requested type not found"); ENOENT/ENOSYS: a crypto algorithm the kernel cannot load.
        93 => $"{e.Message}; the kernel has no ESP transform: load esp4/esp6 (CONFIG_INET_ESP)",
        2 or 38 => $"{e.Message}; the kernel cannot provide {XfrmAlgorithms.Encryption(sa.Suite.Cipher)}" +
            (sa.Suite.Integrity != null ? $" with {XfrmAlgorithms.Integrity(sa.Suite.Integrity).Name}" : "") +
            $": load {XfrmAlgorithms.Modules(sa.Suite)}",
        _ => e.Message,
    };

    private static void WriteSa(ref NetlinkWriter writer, SaParameters sa)
    {
        var family = xfrm_address_t.Family(sa.Destination.Address);
        var life = sa.Lifetime;
        var lifetime = xfrm_lifetime_cfg.Infinite;
        if (life != null)
        {
            lifetime.soft_byte_limit = life.SoftBytes == 0 ? ulong.MaxValue : life.SoftBytes;
            lifetime.hard_byte_limit = life.HardBytes == 0 ? ulong.MaxValue : life.HardBytes;
            lifetime.soft_packet_limit = life.SoftPackets == 0 ? ulong.MaxValue : life.SoftPackets;
            lifetime.hard_packet_limit = life.HardPackets == 0 ? ulong.MaxValue : life.HardPackets;
            lifetime.soft_add_expires_seconds = (ulong)life.SoftTime.TotalSeconds;
            lifetime.hard_add_expires_seconds = (ulong)life.HardTime.TotalSeconds;
        }
        writer.Struct(new xfrm_usersa_info
        {
            sel = new xfrm_selector { family = family },
            id = new xfrm_id { daddr = xfrm_address_t.From(sa.Destination.Address), spi = BinaryPrimitives.ReverseEndianness(sa.Id.Spi), proto = Uapi.IPPROTO_ESP },
            saddr = xfrm_address_t.From(sa.Source.Address),
            lft = lifetime,
            reqid = sa.ReqId,
            family = family,
            mode = Uapi.XFRM_MODE_TUNNEL,
            flags = sa.Suite.Esn ? Uapi.XFRM_STATE_ESN : (byte)0,
        });
        var cipher = sa.Suite.Cipher;
        if (cipher.IsAead)
        {
            var aead = new xfrm_algo_aead { alg_key_len = (uint)sa.EncryptionKey.Length * 8, alg_icv_len = (uint)cipher.TagLength * 8 };
            SetName(aead.alg_name, XfrmAlgorithms.Encryption(cipher));
            writer.Attribute(Uapi.XFRMA_ALG_AEAD, aead, sa.EncryptionKey);
        }
        else
        {
            var crypt = new xfrm_algo { alg_key_len = (uint)sa.EncryptionKey.Length * 8 };
            SetName(crypt.alg_name, XfrmAlgorithms.Encryption(cipher));
            writer.Attribute(Uapi.XFRMA_ALG_CRYPT, crypt, sa.EncryptionKey);
            var (name, truncation) = XfrmAlgorithms.Integrity(sa.Suite.Integrity!);
            var auth = new xfrm_algo_auth { alg_key_len = (uint)sa.IntegrityKey.Length * 8, alg_trunc_len = (uint)truncation };
            SetName(auth.alg_name, name);
            writer.Attribute(Uapi.XFRMA_ALG_AUTH_TRUNC, auth, sa.IntegrityKey);
        }
        // Replay window as a bitmap of 32-bit words (RFC 4303 §3.4.3; the u8 field of the SA caps at 32).
        int window = Math.Max(32, (sa.ReplayWindow + 31) / 32 * 32);
        writer.Attribute(Uapi.XFRMA_REPLAY_ESN_VAL, new xfrm_replay_state_esn
        {
            bmp_len = (uint)(window / 32),
            replay_window = sa.Direction == SaDirection.Inbound ? (uint)window : 0,
        }, ZeroBitmap.AsSpan(0, window / 8));
        if (sa.Mark is { } mark)
            writer.Attribute(Uapi.XFRMA_MARK, new xfrm_mark { v = mark.Value, m = mark.Mask });
        if (sa.UdpEncapsulation)
        {
            writer.Attribute(Uapi.XFRMA_ENCAP, new xfrm_encap_tmpl
            {
                encap_type = Uapi.UDP_ENCAP_ESPINUDP,
                encap_sport = BinaryPrimitives.ReverseEndianness((ushort)sa.Source.Port),
                encap_dport = BinaryPrimitives.ReverseEndianness((ushort)sa.Destination.Port),
            });
        }
    }

    private static readonly byte[] ZeroBitmap = new byte[4096 / 8 * 8];

    private static void SetName(byte* target, string name) => Encoding.ASCII.GetBytes(name, new Span<byte>(target, 63));

    public void UpdateSa(SaId id, IPEndPoint newSource, IPEndPoint newDestination)
    {
        if (!_installed.TryGetValue(id, out var sa))
            throw new SaBackendException($"SA {id} is not installed", 2);
        // The destination is part of the kernel's key: delete and add again (as strongSwan does).
        DeleteSa(id);
        AddSa(sa with { Id = id with { Destination = newDestination.Address }, Source = newSource, Destination = newDestination });
    }

    public void DeleteSa(SaId id)
    {
        _installed.TryRemove(id, out _);
        _larval.TryRemove(id, out _);
        var writer = new NetlinkWriter(Uapi.XFRM_MSG_DELSA, Uapi.NLM_F_REQUEST | Uapi.NLM_F_ACK);
        try
        {
            writer.Struct(UserSaId(id));
            _socket.Request(writer.Message, $"XFRM_MSG_DELSA {id}");
        }
        catch (XfrmException e) when (e.Errno is 2 or 3)
        {
            // already gone: not an error
        }
        catch (XfrmException e)
        {
            throw new SaBackendException(e.Message, e.Errno);
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static xfrm_usersa_id UserSaId(SaId id) => new()
    {
        daddr = xfrm_address_t.From(id.Destination),
        spi = BinaryPrimitives.ReverseEndianness(id.Spi),
        family = xfrm_address_t.Family(id.Destination),
        proto = Uapi.IPPROTO_ESP,
    };

    public void AddPolicy(PolicyParameters policy)
    {
        var writer = new NetlinkWriter(Uapi.XFRM_MSG_UPDPOLICY, Uapi.NLM_F_REQUEST | Uapi.NLM_F_ACK);
        try
        {
            var family = xfrm_address_t.Family(policy.TunnelDestination);
            writer.Struct(new xfrm_userpolicy_info
            {
                sel = Selector(policy.Source, policy.Destination),
                lft = xfrm_lifetime_cfg.Infinite,
                priority = policy.Priority == 0 ? Priority(policy) : policy.Priority,
                dir = Direction(policy.Direction),
                action = Uapi.XFRM_POLICY_ALLOW,
            });
            writer.Attribute(Uapi.XFRMA_TMPL, new xfrm_user_tmpl
            {
                id = new xfrm_id { daddr = xfrm_address_t.From(policy.TunnelDestination), proto = Uapi.IPPROTO_ESP },
                family = family,
                saddr = xfrm_address_t.From(policy.TunnelSource),
                reqid = policy.ReqId,
                mode = Uapi.XFRM_MODE_TUNNEL,
                aalgos = uint.MaxValue,
                ealgos = uint.MaxValue,
                calgos = uint.MaxValue,
            });
            if (policy.Mark is { } mark)
                writer.Attribute(Uapi.XFRMA_MARK, new xfrm_mark { v = mark.Value, m = mark.Mask });
            _socket.Request(writer.Message, $"XFRM_MSG_UPDPOLICY {policy.Direction} {policy.Source} === {policy.Destination}");
            if (policy.Direction == PolicyDirection.Out)
                _routes?.Add(policy.Destination, [policy.Source], policy.TunnelDestination);
        }
        catch (XfrmException e)
        {
            throw new SaBackendException(e.Message, e.Errno);
        }
        finally
        {
            writer.Dispose();
        }
    }

    public void DeletePolicy(PolicyParameters policy)
    {
        var writer = new NetlinkWriter(Uapi.XFRM_MSG_DELPOLICY, Uapi.NLM_F_REQUEST | Uapi.NLM_F_ACK);
        try
        {
            writer.Struct(new xfrm_userpolicy_id { sel = Selector(policy.Source, policy.Destination), dir = Direction(policy.Direction) });
            if (policy.Mark is { } mark)
                writer.Attribute(Uapi.XFRMA_MARK, new xfrm_mark { v = mark.Value, m = mark.Mask });
            _socket.Request(writer.Message, $"XFRM_MSG_DELPOLICY {policy.Direction} {policy.Source} === {policy.Destination}");
            if (policy.Direction == PolicyDirection.Out)
                _routes?.Remove(policy.Destination);
        }
        catch (XfrmException e) when (e.Errno is 2 or 3)
        {
        }
        catch (XfrmException e)
        {
            throw new SaBackendException(e.Message, e.Errno);
        }
        finally
        {
            writer.Dispose();
        }
    }

    public SaCounters? QuerySa(SaId id)
    {
        var writer = new NetlinkWriter(Uapi.XFRM_MSG_GETSA, Uapi.NLM_F_REQUEST | Uapi.NLM_F_ACK);
        try
        {
            writer.Struct(UserSaId(id));
            SaCounters? counters = null;
            _socket.Request(writer.Message, $"XFRM_MSG_GETSA {id}", (type, payload) =>
            {
                if (type != Uapi.XFRM_MSG_NEWSA || payload.Length < Marshal.SizeOf<xfrm_usersa_info>())
                    return;
                var info = MemoryMarshal.Read<xfrm_usersa_info>(payload);
                ulong lastUsed = FindU64(payload[NetlinkSocket.Align(Marshal.SizeOf<xfrm_usersa_info>())..], Uapi.XFRMA_LASTUSED);
                counters = new SaCounters(info.curlft.bytes, info.curlft.packets, info.stats.replay, info.stats.integrity_failed,
                    lastUsed == 0 ? null : DateTimeOffset.FromUnixTimeSeconds((long)lastUsed));
            });
            return counters;
        }
        catch (XfrmException e) when (e.Errno is 2 or 3)
        {
            return null;
        }
        catch (XfrmException e)
        {
            throw new SaBackendException(e.Message, e.Errno);
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>Lets a socket's own traffic (IKE) bypass IPsec policies in both directions.</summary>
    public static void BypassSocket(Socket socket)
    {
        int level = socket.AddressFamily == AddressFamily.InterNetwork ? 0 /* SOL_IP */ : 41 /* SOL_IPV6 */;
        int option = socket.AddressFamily == AddressFamily.InterNetwork ? 17 /* IP_XFRM_POLICY */ : 35 /* IPV6_XFRM_POLICY */;
        foreach (var dir in new[] { Uapi.XFRM_POLICY_IN, Uapi.XFRM_POLICY_OUT })
        {
            var policy = new xfrm_userpolicy_info
            {
                sel = new xfrm_selector { family = socket.AddressFamily == AddressFamily.InterNetwork ? xfrm_address_t.AF_INET : xfrm_address_t.AF_INET6 },
                lft = xfrm_lifetime_cfg.Infinite,
                dir = dir,
                action = Uapi.XFRM_POLICY_ALLOW,
            };
            int size = Marshal.SizeOf<xfrm_userpolicy_info>();
            if (Tmds.Linux.LibC.setsockopt((int)socket.Handle, level, option, &policy, (uint)size) < 0)
                throw new SaBackendException($"bypass policy for IKE socket {socket.LocalEndPoint}: errno {Tmds.Linux.LibC.errno}", Tmds.Linux.LibC.errno);
        }
    }

    private static byte Direction(PolicyDirection direction) => direction switch
    {
        PolicyDirection.In => Uapi.XFRM_POLICY_IN,
        PolicyDirection.Out => Uapi.XFRM_POLICY_OUT,
        _ => Uapi.XFRM_POLICY_FWD,
    };

    /// <summary>Narrower selectors get numerically lower (stronger) priorities, as strongSwan computes them.</summary>
    private static uint Priority(PolicyParameters policy)
    {
        var (_, sourceBits) = Prefix(policy.Source);
        var (_, destinationBits) = Prefix(policy.Destination);
        return 0x20000 - (uint)((sourceBits + destinationBits) * 256) - (policy.Source.IpProtocol != 0 ? 128u : 0);
    }

    private static xfrm_selector Selector(TrafficSelector source, TrafficSelector destination)
    {
        var (saddr, sbits) = Prefix(source);
        var (daddr, dbits) = Prefix(destination);
        bool ports = !(source.StartPort == 0 && source.EndPort == 65535) || !(destination.StartPort == 0 && destination.EndPort == 65535);
        return new xfrm_selector
        {
            saddr = xfrm_address_t.From(saddr),
            daddr = xfrm_address_t.From(daddr),
            prefixlen_s = (byte)sbits,
            prefixlen_d = (byte)dbits,
            family = xfrm_address_t.Family(saddr),
            proto = source.IpProtocol != 0 ? source.IpProtocol : destination.IpProtocol,
            sport = ports && source.StartPort == source.EndPort ? BinaryPrimitives.ReverseEndianness(source.StartPort) : (ushort)0,
            sport_mask = ports && source.StartPort == source.EndPort ? (ushort)0xFFFF : (ushort)0,
            dport = ports && destination.StartPort == destination.EndPort ? BinaryPrimitives.ReverseEndianness(destination.StartPort) : (ushort)0,
            dport_mask = ports && destination.StartPort == destination.EndPort ? (ushort)0xFFFF : (ushort)0,
        };
    }

    /// <summary>A selector's address range as a prefix; the kernel knows no ranges.</summary>
    internal static (IPAddress Address, int Bits) Prefix(TrafficSelector ts)
    {
        var start = new BigInteger(ts.Start.GetAddressBytes(), true, true);
        var size = new BigInteger(ts.End.GetAddressBytes(), true, true) - start + 1;
        int total = ts.Start.GetAddressBytes().Length * 8;
        if (!size.IsPowerOfTwo || !(start % size).IsZero)
            throw new SaBackendException($"traffic selector {ts} is not a prefix; XFRM selectors must be prefixes");
        return (ts.Start, total - (int)(size.GetBitLength() - 1));
    }

    private static ulong FindU64(ReadOnlySpan<byte> attributes, ushort wanted)
    {
        while (attributes.Length >= 4)
        {
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]);
            if (length < 4 || length > attributes.Length)
                break;
            if ((type & 0x3FFF) == wanted && length >= 12)
                return BinaryPrimitives.ReadUInt64LittleEndian(attributes[4..]);
            attributes = attributes[Math.Min(NetlinkSocket.Align(length), attributes.Length)..];
        }
        return 0;
    }

    private void Monitor()
    {
        var buffer = new byte[65536];
        while (!_stop)
        {
            int length;
            try
            {
                length = _monitorSocket!.Receive(buffer, 200);
            }
            catch (XfrmException e)
            {
                _log.Warning("xfrm", $"monitor: {e.Message}");
                continue;
            }
            var data = buffer.AsSpan(0, length);
            while (data.Length >= 16)
            {
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(data);
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                if (size < 16 || size > data.Length)
                    break;
                var payload = data[16..(int)size];
                if (type == Uapi.XFRM_MSG_EXPIRE && payload.Length >= Marshal.SizeOf<xfrm_user_expire>())
                {
                    var expire = MemoryMarshal.Read<xfrm_user_expire>(payload);
                    var state = expire.state;
                    var id = new SaId(state.id.daddr.ToAddress(state.family), BinaryPrimitives.ReverseEndianness(state.id.spi));
                    Expired?.Invoke(new SaExpiry(id, state.reqid, expire.hard != 0));
                }
                else if (type == Uapi.XFRM_MSG_ACQUIRE && payload.Length >= Marshal.SizeOf<xfrm_user_acquire>())
                {
                    var acquire = MemoryMarshal.Read<xfrm_user_acquire>(payload);
                    var sel = acquire.sel;
                    Acquired?.Invoke(new SaAcquire(0, Host(sel.saddr, sel.family, sel.prefixlen_s), Host(sel.daddr, sel.family, sel.prefixlen_d))
                    {
                        PolicyIndex = acquire.policy.index,
                    });
                }
                data = data[Math.Min(NetlinkSocket.Align((int)size), data.Length)..];
            }
        }
    }

    private static TrafficSelector Host(xfrm_address_t address, ushort family, byte bits)
    {
        var ip = address.ToAddress(family);
        return TrafficSelector.FromCidr($"{ip}/{(bits == 0 ? (family == xfrm_address_t.AF_INET ? 32 : 128) : bits)}");
    }

    public void Dispose()
    {
        _stop = true;
        _monitor?.Join();
        _monitorSocket?.Dispose();
        _socket.Dispose();
    }
}
