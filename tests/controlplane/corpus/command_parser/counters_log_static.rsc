/ppp secret add name=Laptop service=sstp password=123 remote-address=198.19.101.100
/ppp secret add name=Dialup service=pppoe password=1
/interface sstp-server add name=sstp-office user=Laptop
/interface sstp-server print
/interface sstp-server print stats
/interface sstp-server print stats detail
/interface sstp-server print detail
/interface sstp-server monitor sstp-office once
/ppp active print detail
/ppp active print stats
/log print
/log print without-paging
/interface sstp-server set sstp-office user=Dialup
/interface sstp-server remove sstp-office
/ppp secret print stats
