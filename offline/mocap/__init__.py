"""Motion capture: the BVH reader and forward kinematics, and the virtual camera that
projects mocap skeletons into an image plane."""
