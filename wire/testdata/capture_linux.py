#!/usr/bin/env python3
"""Capture packets the Linux kernel builds, for berth/wire's table tests.

Run as root inside a fresh network namespace, which the script never leaves:

    unshare -n python3 capture_linux.py > linux_packets.txt

It creates a TUN device bt0 with 198.18.1.1/24 (RFC 2544 benchmarking
space), lets the kernel send packets to the fictitious peer 198.18.1.2, reads
them from the TUN, and writes packets "from" the peer into the TUN to make
the kernel answer. Each output line is "name hex-bytes" of one IPv4 packet,
exactly as the kernel emitted it (TUN without offloads, so checksums are
final). Lines starting with # are comments.
"""
import fcntl, os, select, socket, struct, subprocess, time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
LOCAL, PEER = "198.18.1.1", "198.18.1.2"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(proto, payload, src=PEER, dst=LOCAL, ttl=64, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp(sport, dport, seq, ack, flags, win, opts=b"", data=b"", src=PEER, dst=LOCAL):
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0, 0) + opts
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h) + len(data))
    c = csum(ph + h + data)
    h = h[:16] + struct.pack("!H", c) + h[18:]
    return ip4(6, h + data, src, dst)


def udp(sport, dport, data, src=PEER, dst=LOCAL):
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, 8 + len(data))
    c = csum(ph + h + data) or 0xFFFF
    return ip4(17, h[:6] + struct.pack("!H", c) + data, src, dst)


fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"bt0", IFF_TUN | IFF_NO_PI))
sh("ip link set lo up; ip link set bt0 up; ip addr add %s/24 dev bt0" % LOCAL)
sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
time.sleep(0.3)


def drain():
    while select.select([fd], [], [], 0.2)[0]:
        os.read(fd, 65535)


def read(pred, timeout=3.0):
    end = time.time() + timeout
    while time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            p = os.read(fd, 65535)
            if p[0] >> 4 == 4 and pred(p):
                return p
    raise SystemExit("timed out")


def is_tcp(dport):
    return lambda p: p[9] == 6 and struct.unpack("!H", p[22:24])[0] == dport


def emit(name, p):
    print(name, p.hex())


drain()
print("# captured from Linux", os.uname().release)

# ICMP echo request from ping(8).
subprocess.Popen(["ping", "-c1", "-W1", "-s56", PEER], stdout=subprocess.DEVNULL)
emit("ping_echo_request", read(lambda p: p[9] == 1 and p[20] == 8))

# ICMP echo reply from the kernel to an echo request written by us.
echo = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 7) + bytes(range(32))
echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
os.write(fd, ip4(1, echo))
emit("kernel_echo_reply", read(lambda p: p[9] == 1 and p[20] == 0))

# UDP datagram from a socket.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((LOCAL, 40000))
s.sendto(b"hello, berth", (PEER, 53))
emit("udp_dns_query", read(lambda p: p[9] == 17))

# UDP datagram of 3000 bytes: fragmented to the TUN's 1500-byte MTU.
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: allow fragments
s.sendto(bytes(i % 251 for i in range(3000)), (PEER, 9))
emit("udp_fragment_first", read(lambda p: p[9] == 17 and p[6] & 0x20))
emit("udp_fragment_last", read(lambda p: p[9] == 17 and not p[6] & 0x20))
s.close()

# ICMP port unreachable for a UDP datagram to a closed port.
os.write(fd, udp(5555, 9, b"anyone there?"))
emit("icmp_port_unreachable", read(lambda p: p[9] == 1 and p[20] == 3))


def syn_from_connect(name, dport):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    c.bind((LOCAL, 0))
    try:
        c.connect((PEER, dport))
    except BlockingIOError:
        pass
    emit(name, read(is_tcp(dport)))
    c.close()
    drain()


# Active-open SYNs: Linux's option layouts (tcp_options_write).
syn_from_connect("tcp_syn_ts_sack_ws", 80)
sh("sysctl -qw net.ipv4.tcp_timestamps=0")
syn_from_connect("tcp_syn_sack_ws", 81)
sh("sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=0")
syn_from_connect("tcp_syn_ts_ws", 82)
sh("sysctl -qw net.ipv4.tcp_sack=1 net.ipv4.tcp_window_scaling=0 net.ipv4.tcp_timestamps=0")
syn_from_connect("tcp_syn_sack_only", 83)
sh("sysctl -qw net.ipv4.tcp_window_scaling=1 net.ipv4.tcp_timestamps=1")

# Reset for a SYN to a closed port.
os.write(fd, tcp(5000, 81, 1000, 0, 0x02, 65535))
emit("tcp_rst_ack_closed_port", read(lambda p: p[9] == 6 and p[33] & 0x04))

# Passive open: SYN-ACK, then out-of-order data that makes Linux send SACKs.
ln = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ln.bind((LOCAL, 8080))
ln.listen(1)
isn = 1000
synopts = struct.pack("!BBH", 2, 4, 1400) + struct.pack("!BB", 4, 2) + \
    struct.pack("!BBII", 8, 10, 5000, 0) + struct.pack("!BBBB", 1, 3, 3, 7)
os.write(fd, tcp(5001, 8080, isn, 0, 0x02, 64240, synopts))
sa = read(is_tcp(5001))
emit("tcp_synack_passive", sa)
ihl = (sa[0] & 15) * 4
srv_isn = struct.unpack("!I", sa[ihl + 4:ihl + 8])[0]
# The SYN-ACK's TS val, to echo.
opt = sa[ihl + 20:ihl + (sa[ihl + 12] >> 4) * 4]
i = opt.index(bytes([8, 10]))
tsval = struct.unpack("!I", opt[i + 2:i + 6])[0]


def ts(val, ecr):
    return struct.pack("!BBBBII", 1, 1, 8, 10, val, ecr)


os.write(fd, tcp(5001, 8080, isn + 1, srv_isn + 1, 0x10, 502, ts(5001, tsval)))
conn, _ = ln.accept()
# Data at +100..+200 and +300..+400 while 0..100 is missing.
os.write(fd, tcp(5001, 8080, isn + 101, srv_isn + 1, 0x18, 502, ts(5002, tsval), b"B" * 100))
emit("tcp_ack_sack1", read(is_tcp(5001)))
os.write(fd, tcp(5001, 8080, isn + 301, srv_isn + 1, 0x18, 502, ts(5003, tsval), b"D" * 100))
emit("tcp_ack_sack2", read(is_tcp(5001)))
# Fill the first hole: the ACK still reports the block above the second.
os.write(fd, tcp(5001, 8080, isn + 1, srv_isn + 1, 0x18, 502, ts(5004, tsval), b"A" * 100))
emit("tcp_ack_sack_after_fill", read(is_tcp(5001)))
# Fill the second hole: a cumulative ACK with timestamps only.
os.write(fd, tcp(5001, 8080, isn + 201, srv_isn + 1, 0x18, 502, ts(5005, tsval), b"C" * 100))
emit("tcp_ack_ts", read(is_tcp(5001)))
conn.sendall(b"response from linux")
emit("tcp_data_psh", read(lambda p: is_tcp(5001)(p) and len(p) > 52))
got = b""
while len(got) < 400:
    got += conn.recv(4096)
conn.close()
emit("tcp_fin", read(lambda p: is_tcp(5001)(p) and p[ihl + 13] & 0x01))
