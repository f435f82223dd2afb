package services

import (
	"slices"

	"berth/port"
)

// Note says why a port looks suspicious: a program, usually a trojan or
// backdoor, known to have used it by default. It is a hint for a socket
// table, never a verdict: these numbers are ordinary ports, and legitimate
// services (and ephemeral allocation) use them too.
type Note struct {
	Port   uint16
	Proto  port.Protocol // 0: TCP and UDP
	Name   string        // the program that used the port
	Source string        // where the association is documented
}

// Sources of the list.
const (
	srcSeed       = "berth seed text (ports-and-sockets): default connection ports of Glacier, WAY 2.4, NetSpy 3.0 and Yai"
	srcEduguru    = "https://blog.eduguru.in/it-security/detecting-trojans-and-viruses (\"ports used for classic Trojans\")"
	srcSubSeven   = "http://anythingoverip.co.za/tutorials/course-content/iscw/mitigating-subseven-attacks (SubSeven access list)"
	srcLtesting   = "https://ltesting.net/ceshi/ceshijishu/aqcs/2007/0623/85835.html (port notes: 1524 ingreslock backdoor)"
	srcSANSViaLSM = "https://www.linuxsecurity.com/news/network-security/batten-down-the-hatches-and-plug-open-ports-for-security (SANS trojan port list: Qaz)"
)

// suspicious is sorted by port, then protocol.
var suspicious = []Note{
	{1024, port.TCP, "Yai", srcSeed},
	{1243, port.TCP, "SubSeven (early versions)", srcSubSeven},
	{1524, port.TCP, "ingreslock backdoor shell", srcLtesting},
	{2140, port.UDP, "Deep Throat", srcEduguru},
	{2773, port.TCP, "SubSeven", srcSubSeven},
	{3129, port.TCP, "Masters Paradise", srcEduguru},
	{3150, port.UDP, "Deep Throat", srcEduguru},
	{6711, port.TCP, "SubSeven", srcSubSeven},
	{6712, port.TCP, "SubSeven", srcSubSeven},
	{6713, port.TCP, "SubSeven", srcSubSeven},
	{6776, port.TCP, "SubSeven", srcSubSeven},
	{7215, port.TCP, "SubSeven", srcSubSeven},
	{7306, port.TCP, "NetSpy 3.0", srcSeed},
	{7597, port.TCP, "Qaz", srcSANSViaLSM},
	{7626, port.TCP, "Glacier (Bingshe)", srcSeed},
	{8011, port.TCP, "WAY 2.4", srcSeed},
	{12345, port.TCP, "NetBus", srcEduguru},
	{12346, port.TCP, "NetBus", srcEduguru},
	{12361, port.TCP, "Whack-a-Mole", srcEduguru},
	{12362, port.TCP, "Whack-a-Mole", srcEduguru},
	{20034, port.TCP, "NetBus 2 Pro", srcEduguru},
	{21544, port.TCP, "GirlFriend", srcEduguru},
	{23476, port.TCP, "Donald Dick", srcEduguru},
	{23477, port.TCP, "Donald Dick", srcEduguru},
	{27374, port.TCP, "SubSeven", srcSubSeven},
	{27573, port.TCP, "SubSeven", srcSubSeven},
	{31337, port.UDP, "Back Orifice", srcEduguru},
	{31338, port.UDP, "Back Orifice", srcEduguru},
	{40421, port.TCP, "Masters Paradise", srcEduguru},
	{40422, port.TCP, "Masters Paradise", srcEduguru},
	{40423, port.TCP, "Masters Paradise", srcEduguru},
	{40426, port.TCP, "Masters Paradise", srcEduguru},
	{54283, port.TCP, "SubSeven", srcSubSeven},
	{54320, 0, "Back Orifice 2000", srcEduguru},
	{54321, 0, "Back Orifice 2000", srcEduguru},
}

// Suspicious reports whether (proto, p) is a port with a history of abuse,
// and why. A hint, never a verdict: see Note.
func Suspicious(proto port.Protocol, p uint16) (Note, bool) {
	i, _ := slices.BinarySearchFunc(suspicious, p, func(n Note, p uint16) int { return int(n.Port) - int(p) })
	for ; i < len(suspicious) && suspicious[i].Port == p; i++ {
		if n := suspicious[i]; n.Proto == 0 || n.Proto == proto {
			return n, true
		}
	}
	return Note{}, false
}

// SuspiciousPorts returns a copy of the whole list, sorted by port.
func SuspiciousPorts() []Note { return slices.Clone(suspicious) }
