"""Motion capture: the BVH reader and forward kinematics (`bvh`), the body map from body
parts to a skeleton's joints and the shared 13 joints read through it (`body`), and the
virtual camera that projects mocap skeletons into an image plane (`virtual_camera`)."""
