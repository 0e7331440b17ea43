cluster_name = default
node_name = mta1
repo = m1,,m2
