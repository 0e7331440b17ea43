cluster_name = default
node_name = mta1
repo = [::1
keep_snapshots = 0
