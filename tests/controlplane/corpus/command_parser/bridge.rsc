/interface bridge add name=bridge1
/interface bridge port add bridge=bridge1 interface=ether1
/ppp profile add name=bridged bridge=bridge1
/ppp secret add name=Branch password=1 profile=bridged
/interface bridge print
/interface bridge port print
/interface bridge port set 0 disabled=yes
/interface bridge remove bridge1
/interface bridge export
/interface sstp-client add connect-to=198.18.80.1 user=Home password=1 verify-server-certificate=yes disabled=no
/interface sstp-client monitor 0 once
/interface sstp-client print stats
/interface sstp-client print stats detail
