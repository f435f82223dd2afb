#!/usr/bin/env python3
"""Capture IPv6 packets the Linux kernel builds, for berth/wire's tests.

Run as root inside a fresh network namespace, which the script never leaves:

    unshare -n python3 capture_linux6.py > linux6_packets.txt

The IPv6 twin of capture_linux.py. It creates a TUN device bt0 with
2001:2::1/64 (RFC 5180 benchmarking space, like 198.18.0.0/15 for IPv4), lets
the kernel send packets to the fictitious peer 2001:2::2, reads them from the
TUN, and writes packets "from" the peer to make the kernel answer. A second
TUN, bt1, with the minimum MTU of 1280, takes the route to 2001:2:1::/64, so
that the kernel, forwarding, sends Packet Too Big and Time Exceeded. Each
output line is "name hex-bytes" of one IPv6 packet, exactly as the kernel
emitted it. Lines starting with # are comments.
"""
import fcntl, os, select, socket, struct, subprocess, time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
LOCAL, PEER, FAR = "2001:2::1", "2001:2::2", "2001:2:1::9"
IPV6_HOPOPTS, IPV6_DSTOPTS = 54, 59


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def a16(a):
    return socket.inet_pton(socket.AF_INET6, a)


def ip6(nh, payload, src=PEER, dst=LOCAL, hlim=64):
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hlim) + a16(src) + a16(dst) + payload


def with_sum(proto, msg, at, src, dst):
    c = csum(a16(src) + a16(dst) + struct.pack("!I3xB", len(msg), proto) + msg)
    if proto == 17 and c == 0:
        c = 0xFFFF
    return msg[:at] + struct.pack("!H", c) + msg[at + 2:]


def icmp6(typ, code, rest, body, src=PEER, dst=LOCAL):
    return with_sum(58, struct.pack("!BBH", typ, code, 0) + rest + body, 2, src, dst)


def udp6(sport, dport, data, src=PEER, dst=LOCAL):
    return with_sum(17, struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data, 6, src, dst)


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name, IFF_TUN | IFF_NO_PI))
    return fd


fd, fd1 = tun(b"bt0"), tun(b"bt1")
sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0")
sh("sysctl -qw net.ipv6.icmp.ratelimit=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0")
sh("ip link set lo up; ip link set bt0 up; ip link set bt1 up mtu 1280")
sh("ip -6 addr add %s/64 dev bt0 nodad" % LOCAL)
sh("ip -6 route add 2001:2:1::/64 dev bt1")
time.sleep(0.5)


def drain():
    for f in (fd, fd1):
        while select.select([f], [], [], 0.2)[0]:
            os.read(f, 65535)


def read(pred, timeout=3.0, f=fd):
    end = time.time() + timeout
    while time.time() < end:
        if select.select([f], [], [], 0.1)[0]:
            p = os.read(f, 65535)
            if p[0] >> 4 == 6 and pred(p):
                return p
    raise SystemExit("timed out")


def icmp_type(t):
    return lambda p: p[6] == 58 and p[40] == t


def emit(name, p):
    print(name, p.hex())


drain()
print("# captured from Linux", os.uname().release)

# Echo request from ping(8).
subprocess.Popen(["ping", "-6", "-c1", "-W1", "-s56", PEER], stdout=subprocess.DEVNULL)
emit("ping6_echo_request", read(icmp_type(128)))

# Echo request of 2000 bytes of data: fragmented to the TUN's 1500-byte MTU.
subprocess.Popen(["ping", "-6", "-c1", "-W1", "-s2000", PEER], stdout=subprocess.DEVNULL)
emit("ping6_fragment_first", read(lambda p: p[6] == 44 and p[42:44] == b"\0\x01"))
emit("ping6_fragment_last", read(lambda p: p[6] == 44 and p[43] & 1 == 0))

# Echo request with Hop-by-Hop and Destination Options headers from a raw
# socket: the kernel builds the chain from the sticky options and computes
# the ICMPv6 checksum (RFC 3542 §3.1).
r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
# Hop-by-Hop: Router Alert (RFC 2711) value 0 (MLD), then PadN to 8 bytes.
r.setsockopt(socket.IPPROTO_IPV6, IPV6_HOPOPTS, bytes([0, 0, 5, 2, 0, 0, 1, 0]))
# Destination Options: an experimental option of type 0x1e (RFC 4727; the
# action bits 00 say "skip if unrecognised") with 6 bytes, then PadN.
r.setsockopt(socket.IPPROTO_IPV6, IPV6_DSTOPTS,
             bytes([0, 1, 0x1E, 6, 1, 2, 3, 4, 5, 6, 1, 4, 0, 0, 0, 0]))
r.sendto(struct.pack("!BBHHH", 128, 0, 0, 0x4242, 1) + b"berth: hbh+dst", (PEER, 0))
emit("exthdr_echo_request", read(lambda p: p[6] == 0 and len(p) > 64 and p[64] == 128))
r.close()

# Echo reply from the kernel to an echo request written by us.
os.write(fd, ip6(58, icmp6(128, 0, struct.pack("!HH", 0x4242, 7), bytes(range(32)))))
emit("kernel6_echo_reply", read(icmp_type(129)))

# The kernel's reply to an echo request that carries a Hop-by-Hop header
# (PadN) and a Destination Options header (Pad1s) before the ICMPv6 message.
echo = icmp6(128, 0, struct.pack("!HH", 0x4242, 8), b"ext")
os.write(fd, ip6(0, bytes([60, 0, 1, 4, 0, 0, 0, 0]) + bytes([58, 0, 0, 0, 0, 0, 0, 0]) + echo))
emit("kernel6_echo_reply_to_exthdrs", read(icmp_type(129)))

# UDP datagram from a socket.
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((LOCAL, 40000))
s.sendto(b"hello, berth", (PEER, 53))
emit("udp6_dns_query", read(lambda p: p[6] == 17))

# UDP datagram of 3000 bytes: fragmented to the TUN's 1500-byte MTU.
s.sendto(bytes(i % 251 for i in range(3000)), (PEER, 9))
emit("udp6_fragment_first", read(lambda p: p[6] == 44 and p[43] & 1))
emit("udp6_fragment_last", read(lambda p: p[6] == 44 and p[43] & 1 == 0))
s.close()

# Port unreachable for a UDP datagram to a closed port.
os.write(fd, ip6(17, udp6(5555, 9, b"anyone there?")))
emit("icmp6_port_unreachable", read(icmp_type(1)))

# Parameter Problem, code 2: a Destination Options header with an unknown
# option whose action bits are 10 (RFC 8200 §4.2).
os.write(fd, ip6(60, bytes([58, 0, 0x88, 2, 0, 0, 1, 0]) + icmp6(128, 0, struct.pack("!HH", 1, 1), b"")))
emit("icmp6_param_unknown_option", read(icmp_type(4)))

# Parameter Problem, code 1: a Hop-by-Hop header after a Destination
# Options header (RFC 8200 §4.1).
os.write(fd, ip6(60, bytes([0, 0, 1, 4, 0, 0, 0, 0]) + bytes([58, 0, 1, 4, 0, 0, 0, 0]) +
                 icmp6(128, 0, struct.pack("!HH", 1, 2), b"")))
emit("icmp6_param_hbh_not_first", read(icmp_type(4)))

# Parameter Problem, code 1: an unknown Next Header (253, RFC 3692
# experimentation).
os.write(fd, ip6(253, b"\0" * 8))
emit("icmp6_param_unknown_next_header", read(icmp_type(4)))

# TCP SYN from connect(2).
c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
c.setblocking(False)
c.bind((LOCAL, 0))
try:
    c.connect((PEER, 80))
except BlockingIOError:
    pass
emit("tcp6_syn", read(lambda p: p[6] == 6))
c.close()
drain()

# As a router: Packet Too Big for a 1400-byte packet bound for bt1's
# 1280-byte link, Time Exceeded for one with hop limit 1.
sh("sysctl -qw net.ipv6.conf.all.forwarding=1")
time.sleep(0.3)
drain()
os.write(fd, ip6(17, udp6(5556, 9, b"B" * 1352, dst=FAR), dst=FAR))
emit("icmp6_packet_too_big", read(icmp_type(2)))
os.write(fd, ip6(17, udp6(5557, 9, b"ttl", dst=FAR), dst=FAR, hlim=1))
emit("icmp6_time_exceeded", read(icmp_type(3)))
os.write(fd, ip6(17, udp6(5558, 9, b"nowhere", dst="2001:2:ff::1"), dst="2001:2:ff::1"))
emit("icmp6_no_route", read(icmp_type(1)))
