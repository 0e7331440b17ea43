cluster_name = global
node_name = mta1
repo = m1
