cluster_name = default
node_name = mta1
repo = manager.example.com
