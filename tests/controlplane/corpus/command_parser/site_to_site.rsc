/ppp secret add name=Home service=sstp password=123 local-address=198.18.16.1 remote-address=198.18.16.2 routes="198.19.202.0/24 198.18.16.2 1"
/ppp secret print detail
/interface sstp-server server set enabled=yes
/interface sstp-server server print
/interface sstp-client add user=Home password=123 connect-to=198.18.80.1 disabled=no
/interface sstp-client report sstp-out1 status=connected
/interface sstp-client print
/ip route add dst-address=198.19.101.0/24 gateway=198.18.16.1
/ip route print
