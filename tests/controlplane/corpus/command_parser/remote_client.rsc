/certificate import file-name=server.pem name=server
/ppp secret add name=Laptop service=sstp password=123 local-address=198.19.101.1 remote-address=198.19.101.100
/ppp secret print detail
/interface sstp-server server set certificate=server
/interface sstp-server server set enabled=yes
/interface sstp-server server set require-client-certificate=yes
/interface sstp-server server set authentication=mschap2
/interface sstp-server server print
/interface sstp-server print
/interface sstp-server monitor 0
/interface ethernet set ether2 arp=proxy-arp
/interface ethernet print
