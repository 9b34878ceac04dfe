/certificate import file-name=server.pem name=server
/interface sstp-server server set certificate=server
/interface sstp-server server set enabled=yes
/interface sstp-server server print
