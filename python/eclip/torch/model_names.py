"""The models eclip.torch.models can build (torch-free, so that argument checks need no torch)."""
PAPER_MODELS = ["albert", "densenet201", "alexnet", "resnet152", "resnext101_32x8d", "shufflenet_v2_x1_0", "vgg19"]
