/interface sstp-server monitor 0
