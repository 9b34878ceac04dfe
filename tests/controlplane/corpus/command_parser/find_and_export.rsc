/ppp secret add name=a
/ppp secret set [find name=a] password="x y"
/ppp secret remove 0
/interface ethernet set [ find default-name=ether1 ] arp=proxy-arp
/ip route add dst-address=198.19.101.0/24 gateway=198.18.16.1
/export
