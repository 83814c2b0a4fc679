package topology

// WriteDeployment writes the topology's deployment files under dir.
func (t *Topology) WriteDeployment(dir string, modules []Module) ([]string, error) {
	return nil, nil
}
