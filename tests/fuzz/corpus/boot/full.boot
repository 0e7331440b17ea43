# full
cluster_name = east
node_name = mta1.east
repo = m1.example.com:2027, m2:443,[::1]:9000,10.0.0.1
autoupdate = ifunchanged
reload_config_on_update = false
conf_dir = /opt/conf
state_dir = /var/lib/eccfg
check_command = "ec_check --tree $ECCONFIG_TREE"
reload_command = ec_console reload
keep_snapshots = 10
ca_file = /etc/ca.pem
