/interface sstp-client add user=sstp-test password=123 connect-to=198.19.101.1 disabled=no
/interface sstp-client report sstp-out1 status=connected
/interface sstp-client print
