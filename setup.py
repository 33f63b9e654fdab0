from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open('posekit/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(path: str) -> list:
    with open(path) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith(('#', '-'))]


setup(
    name='posekit',
    version=read_version(),
    description='Registry-driven pose estimation training on mmengine',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools',
                                    'demo', 'docs')),
    python_requires='>=3.10',
    install_requires=read_requirements('requirements/runtime.txt'),
    extras_require={'tests': read_requirements('requirements/tests.txt'),
                    # ONNX export (docs/deployment.md)
                    'deploy': read_requirements('requirements/deploy.txt'),
                    # TensorboardVisBackend (docs/customize_runtime.md)
                    'tensorboard': ['tensorboard']},
    license='Apache-2.0',
    zip_safe=False,
)
